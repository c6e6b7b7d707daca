"""The registered classifier behind ``mlflow models serve``, spoken to over HTTP."""

import json

import numpy as np
import pandas as pd
import pytest

from lmladder.tracking.pyfunc import predict_frame
from tests.tracking.conftest import MAX_TEXT_CHARS, make_bundle, register
from tests.tracking.serving import frame_request, post_text, request, start_server, stop

REQUEST_TEXTS = ["good film", "", "x" * MAX_TEXT_CHARS]  # the longest text the model takes


@pytest.mark.slow
def test_served_classifier_answers_like_the_in_process_model(mlflow_cli, tracking, tmp_path):
    uri, experiment_id = tracking
    bundle = make_bundle()
    register(experiment_id, bundle)
    process, base = start_server("models:/clf@candidate", uri, tmp_path)
    try:
        status, body = request(f"{base}/invocations", frame_request(["text"], REQUEST_TEXTS))
        assert status == 200, body
        answer = json.loads(body)
        assert set(answer) == {"predictions"}
        assert isinstance(answer["predictions"], list) and len(answer["predictions"]) == len(REQUEST_TEXTS)
        served = pd.DataFrame(answer["predictions"])
        expected = predict_frame(bundle.model, bundle.tokenizer, REQUEST_TEXTS)
        assert list(served.columns) == list(expected.columns)
        assert served["label"].tolist() == expected["label"].tolist()
        probabilities = [column for column in expected.columns if column.startswith("prob_")]
        np.testing.assert_allclose(served[probabilities].to_numpy(), expected[probabilities].to_numpy(), atol=1e-6, rtol=0)

        status, body = request(f"{base}/invocations", frame_request(["txt"], ["good film"]))
        assert status == 400, body
        assert "missing inputs ['text']" in json.loads(body)["message"]

        status, body = request(f"{base}/invocations", b'{"dataframe_split": {"columns": ["text"], "data": [["good film"]')
        assert status == 400, body
        assert "valid JSON" in json.loads(body)["message"]

        status, body = request(f"{base}/invocations", frame_request(["text"], []))
        assert (status, json.loads(body)) == (200, {"predictions": []})

        # Too long: refused before tokenising, naming the row, the limit and the parameter that sets it.
        status, body = post_text(base, "x" * (MAX_TEXT_CHARS + 1))
        assert status == 400, body
        message = json.loads(body)["message"]
        assert f"row 1: the text has {MAX_TEXT_CHARS + 1} characters, more than the limit of {MAX_TEXT_CHARS} (max_text_chars)" in message
        assert "evaluation.max_text_chars" in message

        # Not a string: refused (the signature's Any type lets MLflow cast nothing). Not tested: `instances`,
        # which MLflow's parser turns into numpy arrays, where a number among strings becomes a string.
        for request_format in ("dataframe_split", "dataframe_records", "inputs"):
            for value, type_name in [(7, "int"), (7.5, "float"), (["good film"], "list"), ({"text": "good film"}, "dict"), (None, "null")]:
                status, body = post_text(base, value, request_format)
                assert status == 400, (request_format, value, body)
                assert f"row 1: 'text' must be a string, got {type_name}" in json.loads(body)["message"], (request_format, value)

        # JSON nested deeper than Python's json module recurses: MLflow's scoring server fails (500)
        # in json.loads, before the model is called (a framework limit); the server keeps serving.
        status, _ = request(f"{base}/invocations", b'{"dataframe_split": ' + b"[" * 5000 + b"]" * 5000 + b"}")
        assert status >= 400

        status, body = request(f"{base}/invocations", frame_request(["text"], ["good film"]))
        assert status == 200, body
        assert pd.DataFrame(json.loads(body)["predictions"])["label"].tolist() == expected["label"].tolist()[:1]
        assert process.poll() is None
    finally:
        stop(process)
