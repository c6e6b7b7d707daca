"""The registered generator behind ``mlflow models serve``, spoken to over HTTP."""

import json

import pytest

from tests.tracking.generators import expected, make_generator, register_generator
from tests.tracking.serving import frame_request, post_text, request, start_server, stop

MAX_TEXT_CHARS = 100


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_cli")
def test_served_generator_answers_like_generate_texts(tracking, tmp_path):
    uri, experiment_id = tracking
    bundle = make_generator("encoder-decoder")
    register_generator(experiment_id, bundle, max_text_chars=MAX_TEXT_CHARS)
    process, base = start_server("models:/gen@candidate", uri, tmp_path)
    try:
        body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [["def f(x): return x"]]}}).encode()
        status, answer = request(f"{base}/invocations", body)
        assert status == 200, answer
        predictions = json.loads(answer)["predictions"]
        assert len(predictions) == 1 and set(predictions[0]) == {"generated_text"}
        assert isinstance(predictions[0]["generated_text"], str)
        assert predictions[0]["generated_text"] == expected(bundle, ["def f(x): return x"])[0]

        sources = ["def f(x): return x", "some text about code", "x = 1"]
        status, answer = request(f"{base}/invocations", frame_request(["text"], sources))
        assert status == 200, answer
        assert [row["generated_text"] for row in json.loads(answer)["predictions"]] == expected(bundle, sources)

        status, answer = post_text(base, 7)
        assert status == 400, answer
        assert "row 1: 'text' must be a string, got int" in json.loads(answer)["message"]

        status, answer = post_text(base, "x" * (MAX_TEXT_CHARS + 1))
        assert status == 400, answer
        message = json.loads(answer)["message"]
        assert f"row 1: the text has {MAX_TEXT_CHARS + 1} characters, more than the limit of {MAX_TEXT_CHARS} (max_text_chars)" in message

        status, answer = request(f"{base}/invocations", frame_request(["txt"], ["x = 1"]))
        assert status == 400, answer
        assert "missing inputs ['text']" in json.loads(answer)["message"]
        assert process.poll() is None
    finally:
        stop(process)
