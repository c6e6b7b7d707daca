"""MLflow helpers: the classifier as a pyfunc model, registration and aliases."""
