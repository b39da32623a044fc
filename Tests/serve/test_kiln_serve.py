"""kiln-serve end to end, with the unmodified Triton client (`tritonclient[http]`) and plain HTTP.

Results are compared with the `kiln` CLI of the same build: FP32 outputs bit for bit with
`kiln run`, classifications with `kiln classify --json`."""
import http.client
import json
import subprocess
import signal
import threading
import time

import numpy as np
import pytest
import tritonclient.http as triton
from prometheus_client.parser import text_string_to_metric_families

from conftest import BUILD, IMAGES, MODEL, Server, kiln

NAME = "efficientnet_lite0"


def call(server, method, path, body=None, headers=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


@pytest.fixture(scope="module")
def client(server):
    return triton.InferenceServerClient(server.url, network_timeout=120.0, connection_timeout=30.0)


@pytest.fixture(scope="module")
def chelsea(tmp_path_factory):
    """The preprocessed tensor of chelsea.png and `kiln run`'s logits for it."""
    d = tmp_path_factory.mktemp("chelsea")
    kiln("preprocess", MODEL, IMAGES / "chelsea.png", "--output", d / "x.npy")
    # The server runs each inference on one thread (its default on this quota); so does the reference.
    kiln("run", MODEL, "--threads", "1", "--input", f"input={d / 'x.npy'}", "--output-dir", d / "out")
    return np.load(d / "x.npy"), np.load(d / "out" / "logits.npy")


def classify_reference(image):
    doc = json.loads(kiln("classify", "--model", MODEL, image, "--json", "--top", "5", "--threads", "1"))
    return doc["results"][0]["top"]


def test_health_and_metadata(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(NAME)
    meta = client.get_model_metadata(NAME)
    assert meta["name"] == NAME
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 224, 224]}]
    assert meta["outputs"] == [{"name": "logits", "datatype": "FP32", "shape": [-1, 1000]}]
    info = kiln("inspect", MODEL)
    assert len(meta["kiln"]["data_sha256"]) == 64 and meta["kiln"]["data_sha256"] in info
    assert meta["kiln"]["data_sha256_verified"] is True
    assert meta["kiln"]["self_test"]["status"] == "passed"
    assert meta["kiln"]["producer"] and meta["kiln"]["source_model"]
    assert "classification" in client.get_server_metadata()["extensions"]


@pytest.mark.parametrize("binary", [True, False])
def test_infer_fp32_bit_exact(client, chelsea, binary):
    x, expected = chelsea
    inp = triton.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary)
    out = triton.InferRequestedOutput("logits", binary_data=binary)
    result = client.infer(NAME, [inp], outputs=[out], request_id="fp32-1")
    got = result.as_numpy("logits")
    assert result.get_response()["id"] == "fp32-1"
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))


def test_infer_default_outputs_binary(client, chelsea):
    x, expected = chelsea
    inp = triton.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    got = client.infer(NAME, [inp]).as_numpy("logits")
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("binary", [True, False])
def test_bytes_images_with_classification(client, binary):
    names = ["chelsea.png", "rocket.jpg", "coffee.png"]
    data = np.array([(IMAGES / n).read_bytes() for n in names], dtype=np.object_)
    inp = triton.InferInput("input", [len(names)], "BYTES")
    inp.set_data_from_numpy(data, binary_data=True)
    out = triton.InferRequestedOutput("logits", binary_data=binary, class_count=5)
    got = client.infer(NAME, [inp], outputs=[out]).as_numpy("logits")
    assert got.shape == (len(names), 5)
    for row, name in zip(got, names):
        expected = classify_reference(IMAGES / name)
        parsed = [(s.decode() if isinstance(s, bytes) else s).split(":", 2) for s in row]
        assert [int(p[1]) for p in parsed] == [c["index"] for c in expected]
        assert [p[2] for p in parsed] == [c["label"] for c in expected]


@pytest.mark.parametrize("image", ["chelsea.png", "rocket.jpg", "coffee.png", "astronaut.png"])
def test_predictions(server, image):
    status, headers, body = call(server, "POST", f"/predictions/{NAME}?top=5", (IMAGES / image).read_bytes(),
                                 {"X-Request-Id": "pred-" + image})
    assert status == 200, body
    assert headers.get("X-Request-Id") == "pred-" + image
    doc = json.loads(body)
    expected = classify_reference(IMAGES / image)
    assert doc["model"] == NAME
    assert [(p["index"], p["label"]) for p in doc["predictions"]] == [(c["index"], c["label"]) for c in expected]
    for p, c in zip(doc["predictions"], expected):
        assert abs(p["probability"] - c["probability"]) < 1e-6
    assert set(doc["timings_ms"]) >= {"queue", "preprocess", "inference", "total"}


def binary_request(header, payload):
    h = json.dumps(header).encode()
    return h + payload, {"Inference-Header-Content-Length": str(len(h))}


BAD = [
    ("unknown model", "POST", "/v2/models/nope/infer", b"{}", {}, 404, "nope"),
    ("unknown route", "GET", "/v1/models", None, {}, 404, "no endpoint"),
    ("malformed JSON", "POST", f"/v2/models/{NAME}/infer", b'{"inputs": [', {}, 400, "malformed JSON"),
    ("wrong shape", "POST", f"/v2/models/{NAME}/infer",
     *binary_request({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 100, 100],
                                  "parameters": {"binary_data_size": 120000}}]}, bytes(120000)), 400, "shape"),
    ("wrong dtype", "POST", f"/v2/models/{NAME}/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "INT32", "shape": [1, 3, 224, 224], "data": [0]}]}).encode(), {},
     400, "datatype"),
    ("wrong byte count", "POST", f"/v2/models/{NAME}/infer",
     *binary_request({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 224, 224],
                                  "parameters": {"binary_data_size": 1000}}]}, bytes(1000)), 400, "bytes"),
    ("undecodable image", "POST", f"/predictions/{NAME}", b"\x89PNG\r\n\x1a\nnot really", {}, 400, "image"),
    ("empty image", "POST", f"/predictions/{NAME}", b"", {}, 400, "empty"),
    ("unknown output", "POST", f"/v2/models/{NAME}/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 224, 224], "data": [0.0] * 150528}],
                 "outputs": [{"name": "probs"}]}).encode(), {}, 400, "probs"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_gets_json_error_and_server_keeps_serving(server, case):
    _, method, path, body, headers, status, word = case
    got, _, data = call(server, method, path, body, headers)
    assert got == status, data
    assert word in json.loads(data)["error"]
    ok, _, _ = call(server, "POST", f"/predictions/{NAME}", (IMAGES / "chelsea.png").read_bytes())
    assert ok == 200


def test_limits_body_and_pixels():
    s = Server("--max-body-bytes", "300000", "--max-image-pixels", "100000", "--no-verify")
    try:
        status, _, data = call(s, "POST", f"/predictions/{NAME}", bytes(400000))
        assert status == 413 and "limit" in json.loads(data)["error"]
        # chelsea.png is 451×300 = 135,300 pixels: refused from its header.
        status, _, data = call(s, "POST", f"/predictions/{NAME}", (IMAGES / "chelsea.png").read_bytes())
        assert status == 413 and "pixels" in json.loads(data)["error"]
        status, _, _ = call(s, "GET", "/v2/health/ready")
        assert status == 200
    finally:
        assert s.terminate() == 0


def test_metrics_parse_as_prometheus_text(server):
    call(server, "POST", f"/predictions/{NAME}", (IMAGES / "chelsea.png").read_bytes())
    status, headers, body = call(server, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    for name in ["kiln_requests", "kiln_request_duration_seconds", "kiln_queue_wait_seconds", "kiln_preprocess_seconds",
                 "kiln_inference_seconds", "kiln_batch_size", "kiln_inflight_requests", "kiln_queue_depth",
                 "kiln_model_load_seconds", "kiln_ready"]:
        assert name in families, name
    statuses = {s.labels.get("status") for s in families["kiln_requests"].samples}
    assert "200" in statuses


def hammer(server, n_threads, per_thread, results, image, stop=None):
    """Sends requests from threads; records (status or exception name) for each."""
    def run():
        for _ in range(per_thread):
            if stop is not None and stop.is_set():
                return
            try:
                status, headers, _ = call(server, "POST", f"/predictions/{NAME}", image, timeout=60)
                results.append((status, headers.get("Retry-After")))
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                results.append((type(e).__name__, None))
    threads = [threading.Thread(target=run) for _ in range(n_threads)]
    for t in threads:
        t.start()
    return threads


def test_full_queue_gets_429():
    s = Server("--workers", "1", "--max-queue", "1", "--no-verify")
    try:
        results = []
        for t in hammer(s, 12, 4, results, (IMAGES / "chelsea.png").read_bytes()):
            t.join(120)
        statuses = [r[0] for r in results]
        assert 200 in statuses and 429 in statuses, statuses
        assert all(st in (200, 429) for st in statuses), statuses
        assert all(r[1] == "1" for r in results if r[0] == 429)
    finally:
        assert s.terminate() == 0


def test_sigterm_under_load_drains():
    s = Server("--workers", "2", "--drain-delay", "0.5", "--max-queue", "256", "--no-verify")
    results, stop = [], threading.Event()
    threads = hammer(s, 8, 1000, results, (IMAGES / "chelsea.png").read_bytes(), stop)
    deadline = time.monotonic() + 30
    while len(results) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    code = s.terminate(timeout=60)
    elapsed = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join(60)
    assert code == 0
    assert elapsed < 30
    answered = [r[0] for r in results if isinstance(r[0], int)]
    refused = [r[0] for r in results if not isinstance(r[0], int)]
    assert len(answered) >= 4
    # Every request the server accepted was answered 200; only connections made after the
    # listener closed fail (refused or closed before any response).
    assert all(st == 200 for st in answered), answered
    assert all(name in ("ConnectionRefusedError", "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError")
               for name in refused), refused


def test_weights_that_do_not_match_their_hash_refuse_to_start(tmp_path):
    """One flipped bit in the data section: kiln-serve exits 2 naming the SHA-256 mismatch (the
    weights are checked at start, docs/reliability.md); --no-verify skips the check and starts."""
    data = bytearray(MODEL.read_bytes())
    data_offset = int.from_bytes(data[32:40], "little")
    data[data_offset + (len(data) - data_offset) // 2] ^= 0x10
    bad = tmp_path / "efficientnet_lite0.kiln"
    bad.write_bytes(bytes(data))
    r = subprocess.run([str(BUILD / "kiln-serve"), str(bad), "--port", "0", "--threads", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "SHA-256" in r.stderr and "does not match" in r.stderr, r.stderr
    p = subprocess.Popen([str(BUILD / "kiln-serve"), str(bad), "--port", "0", "--threads", "1", "--no-verify",
                          "--log-format", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        started = any('"ready"' in line for line in p.stderr)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    assert started
