"""The playground: TensorFlow Playground's URL state, its data stream, the training, the server, the page.

The data points of ``tests/data/playground_points.json`` were produced by TensorFlow Playground's own
generators (src/dataset.ts) seeded by seedrandom 2.4.4 in Node.js: shendu must draw the same points.
"""
import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from shendu.playground import PlaygroundError, PlaygroundState, SeedRandom, Trainer, make_data, make_server
from shendu.playground.data import GENERATORS, shuffle

from conftest import ROOT

ARTICLE_XOR = ("activation=tanh&batchSize=10&dataset=xor&regDataset=reg-plane&learningRate=0.03&"
               "regularizationRate=0&noise=0&networkShape=7,5,5,2&seed=0.20173&showTestData=false&"
               "discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&"
               "cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false&problem=classification&"
               "initZero=false&hideText=false")


# ------------------------------------------------------------------ settings
def test_defaults_are_tensorflow_playgrounds():
    s = PlaygroundState.from_hash("")
    assert (s.activation, s.learningRate, s.batchSize, s.dataset, s.networkShape, s.percTrainData, s.noise) == \
        ("tanh", 0.03, 10, "circle", [4, 2], 50, 0)
    assert s.features() == ["x", "y"] and len(s.seed) == 7


def test_article_link_round_trips():
    s = PlaygroundState.from_hash("#" + ARTICLE_XOR)
    assert (s.dataset, s.networkShape, s.seed, s.learningRate) == ("xor", [7, 5, 5, 2], "0.20173", 0.03)
    assert s.passive["showTestData"] == "false" and s.passive["cosX"] == "false"
    again = PlaygroundState.from_hash(s.to_hash())
    assert again.to_dict() == s.to_dict() and again.passive == s.passive


@pytest.mark.parametrize("text,message", [
    ("learningRate=abc", "learningRate: expected a number, got 'abc'"),
    ("batchSize=0", "batchSize: expected a value from 1 to 30, got 0"),
    ("batchSize=2.5", "batchSize: expected a whole number"),
    ("activation=softmax", "activation: expected one of relu, tanh, sigmoid, linear, got 'softmax'"),
    ("networkShape=4,9", "networkShape: expected 0 to 6 hidden layers of 1 to 8 neurons, got 4,9"),
    ("networkShape=1,1,1,1,1,1,1", "networkShape: expected 0 to 6 hidden layers"),
    ("networkShape=4,a", "networkShape: expected comma-separated neuron counts"),
    ("x=false&y=false", "features: expected at least one input feature"),
    ("noise=70", "noise: expected a value from 0 to 50, got 70"),
    ("x=maybe", "x: expected true or false, got 'maybe'"),
    ("learningRate=nan", "learningRate: expected a finite number"),
])
def test_bad_settings_name_the_parameter(text, message):
    with pytest.raises(PlaygroundError) as info:
        PlaygroundState.from_hash(text)
    assert message in str(info.value)


def test_unknown_names_are_ignored_as_tensorflow_playground_does():
    s = PlaygroundState.from_hash("dataset=spiral&tutorial=xyz&frobnicate=1&x_hide=true")
    assert s.dataset == "spiral" and "frobnicate" not in s.to_hash() and s.passive["x_hide"] == "true"


# ------------------------------------------------------------------ data
def test_points_are_tensorflow_playgrounds_to_the_last_bit():
    fixture = json.loads((ROOT / "tests" / "data" / "playground_points.json").read_text())
    for key, expected in fixture.items():
        name, seed, noise = key.split("|")
        rng = SeedRandom(seed)
        points = shuffle(rng, GENERATORS[name](rng, 500, float(noise)))
        got = np.array(points[:6] + points[-3:])
        np.testing.assert_allclose(got, np.array(expected), rtol=0, atol=1e-14, err_msg=key)


def test_seedrandom_is_uniform_and_reproducible():
    a, b = SeedRandom("hello"), SeedRandom("hello")
    draws = np.array([a.random() for _ in range(20000)])
    assert draws.tolist()[:5] == [b.random() for _ in range(5)]
    assert 0 <= draws.min() and draws.max() < 1 and abs(draws.mean() - 0.5) < 0.01
    assert SeedRandom("hello").random() != SeedRandom("hellp").random()


@pytest.mark.parametrize("problem,dataset", [("classification", d) for d in ("circle", "xor", "gauss", "spiral")]
                         + [("regression", "reg-plane"), ("regression", "reg-gauss")])
def test_make_data_splits_at_the_ratio(problem, dataset):
    key = "dataset" if problem == "classification" else "regDataset"
    s = PlaygroundState.from_hash(f"problem={problem}&{key}={dataset}&percTrainData=30&seed=1&noise=10")
    train, test, _ = make_data(s)
    total = 500 if problem == "classification" else 1200
    assert len(train) == total * 30 // 100 and len(train) + len(test) == total
    labels = np.concatenate([train[:, 2], test[:, 2]])
    if problem == "classification":
        assert set(labels) == {-1.0, 1.0}
    else:
        assert labels.min() >= -1.3 and labels.max() <= 1.3


# ------------------------------------------------------------------ training
def _trainer(text):
    s = PlaygroundState.from_hash(text)
    train, test, rng = make_data(s)
    return Trainer(s, train, test, rng)


def test_xor_is_learned_and_weights_come_from_the_stream():
    t = _trainer("dataset=xor&networkShape=4,2&seed=0.2")
    w = t.net.linears[0].weight.numpy()
    assert np.all(np.abs(w) <= 0.5) and np.all(t.net.linears[0].bias.numpy() == np.float32(0.1))
    first = t.losses()[1]
    for _ in range(150):
        train_loss, test_loss = t.epoch()
    assert test_loss < 0.05 < first


def test_the_update_is_sgd_on_half_squared_error():
    t = _trainer("dataset=gauss&networkShape=3&seed=7&activation=linear")
    t.state.batchSize = 250                          # (beyond the page's range: one update on all 250 points)
    before = [p.numpy().astype(np.float64) for p in t.net.parameters()]
    import torch
    tw = [torch.tensor(b, requires_grad=True) for b in before]
    x = torch.tensor(t.train_x.numpy(), dtype=torch.float64)
    out = torch.tanh((x @ tw[0].T + tw[1]) @ tw[2].T + tw[3])
    (0.5 * (out - torch.tensor(t.train_y)) ** 2).mean().backward()
    t.epoch()                                        # 250 training points, batch 250: one update
    for p, b, tp in zip(t.net.parameters(), before, tw):
        np.testing.assert_allclose(p.numpy(), b - 0.03 * tp.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_l1_prunes_weights_for_good_and_l2_shrinks():
    t = _trainer("dataset=circle&networkShape=6&regularization=L1&regularizationRate=0.3&learningRate=0.1&seed=3")
    for _ in range(30):
        t.epoch()
    dead = [d.copy() for d in t.dead]
    assert sum(d.sum() for d in dead) > 0
    for _ in range(5):
        t.epoch()
    for layer, d in zip(t.net.linears, dead):
        assert np.all(layer.weight.numpy()[d] == 0)
    l2 = _trainer("dataset=circle&networkShape=6&regularization=L2&regularizationRate=1&learningRate=0.1&seed=3")
    start = sum(float(np.abs(layer.weight.numpy()).sum()) for layer in l2.net.linears)
    for _ in range(10):
        l2.epoch()
    assert sum(float(np.abs(layer.weight.numpy()).sum()) for layer in l2.net.linears) < start


def test_regression_output_is_linear_and_learns_the_plane():
    t = _trainer("problem=regression&regDataset=reg-plane&networkShape=2&seed=5")
    for _ in range(20):
        t.epoch()
    assert t.losses()[1] < 0.01


def test_grids_cover_every_neuron():
    t = _trainer("networkShape=3,2&x=true&y=true&sinX=true")
    grids = t.grid(8)
    assert [g.shape for g in grids] == [(3, 8, 8), (3, 8, 8), (2, 8, 8), (1, 8, 8)]
    np.testing.assert_allclose(grids[0][0][0], np.linspace(-6, 6, 8), rtol=1e-6)   # X₁ along the top row


# ------------------------------------------------------------------ server
@pytest.fixture
def server():
    srv = make_server(port=0, fps=20)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv, path=""):
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def _post(srv, path, body, raw=None):
    req = urllib.request.Request(_url(srv, path), data=raw if raw is not None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_server_binds_loopback_and_serves_the_page(server):
    assert server.server_address[0] == "127.0.0.1"
    with urllib.request.urlopen(_url(server, "/"), timeout=10) as r:
        page = r.read().decode()
    assert 'data-testid="play"' in page and "http" not in page.replace("http-equiv", "")   # nothing external
    for name in ("/static/playground.js", "/static/playground.css"):
        with urllib.request.urlopen(_url(server, name), timeout=10) as r:
            assert b"http://" not in r.read().replace(b"http://www.w3.org/2000/svg", b"")


def test_server_refuses_bad_requests(server):
    assert _post(server, "/api/sessions", {"hash": "batchSize=100"}) == \
        (400, {"error": "batchSize: expected a value from 1 to 30, got 100"})
    status, body = _post(server, "/api/sessions", None, raw=b"{not json")
    assert status == 400 and "not valid JSON" in body["error"]
    status, created = _post(server, "/api/sessions", {"hash": "dataset=xor"})
    assert status == 201 and created["state"]["dataset"] == "xor" and len(created["train"]) == 250
    sid = created["id"]
    assert _post(server, f"/api/sessions/{sid}/control", {"action": "jump"})[0] == 400
    assert _post(server, f"/api/sessions/{sid}/control", {"settings": {"networkShape": "9"}})[0] == 400
    assert _post(server, f"/api/sessions/{sid}/control", {"speed": 3})[0] == 400
    assert _post(server, "/api/sessions/nope/control", {"action": "play"})[0] == 404
    req = urllib.request.Request(_url(server, "/"), headers={"Host": "attacker.example:80"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 403
    status, described = _post(server, f"/api/sessions/{sid}/control", {"settings": {"dataset": "spiral"}})
    assert status == 200 and described["state"]["dataset"] == "spiral" and "dataset=spiral" in described["hash"]


def _frames(server, sid, count, timeout=20):
    frames = []
    with urllib.request.urlopen(_url(server, f"/api/sessions/{sid}/events"), timeout=timeout) as stream:
        for line in stream:
            if line.startswith(b"data: "):
                frames.append(json.loads(line[6:]))
                if len(frames) == count:
                    break
    return frames


def test_stream_trains_and_a_closed_stream_ends_the_session(server):
    sid = _post(server, "/api/sessions", {"hash": "dataset=xor&networkShape=4,2&seed=0.2"})[1]["id"]
    assert _post(server, f"/api/sessions/{sid}/control", {"action": "step"})[0] == 200
    first = _frames(server, sid, 1)[0]
    assert first["epoch"] == 1 and len(first["heatmap"]["values"]) == 50 * 50
    assert [len(layer) for layer in first["neurons"]["layers"]] == [2, 4, 2, 1]
    _post(server, f"/api/sessions/{sid}/control", {"action": "play"})
    frames = _frames(server, sid, 5)
    assert frames[-1]["epoch"] > frames[0]["epoch"] >= 1
    deadline = time.time() + 10                       # the stream above was closed: the session must end
    while sid in server.sessions and time.time() < deadline:
        time.sleep(0.1)
    assert sid not in server.sessions


def test_a_client_that_vanishes_mid_stream_does_not_hurt_the_server(server):
    import socket
    sid = _post(server, "/api/sessions", {"hash": "dataset=circle"})[1]["id"]
    _post(server, f"/api/sessions/{sid}/control", {"action": "play"})
    s = socket.create_connection(("127.0.0.1", server.server_address[1]))
    s.sendall(f"GET /api/sessions/{sid}/events HTTP/1.1\r\nHost: 127.0.0.1:{server.server_address[1]}\r\n\r\n".encode())
    s.recv(100)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST, not FIN
    s.close()
    other = _post(server, "/api/sessions", {"hash": "dataset=gauss"})
    assert other[0] == 201


# ------------------------------------------------------------------ the page in a real browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is installed by the test extra")
    import os
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, server, hash_, outside):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    local = f"http://127.0.0.1:{server.server_address[1]}/"

    def route(r):
        if r.request.url.startswith(local):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(local + "#" + hash_)
    _until(page, "typeof session === 'string' && lastFrame !== null")   # a session exists and drew a frame
    return page


def _until(page, expression, seconds=20):
    """Poll a JavaScript expression from Python (the page's CSP forbids the eval that wait_for_function uses)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if page.evaluate(expression):
            return
        time.sleep(0.1)
    raise AssertionError(f"never true within {seconds} s: {expression}")


def _heatmap(page):
    return page.evaluate("document.querySelector('[data-testid=heatmap]').toDataURL()")


def _wait_loss(page, below, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        text = page.inner_text("[data-testid=loss-test]")
        if text not in ("—", "") and float(text) < below:
            return float(text), time.time()
        time.sleep(0.25)
    return float(page.inner_text("[data-testid=loss-test]").replace("—", "nan")), None


ARTIFACTS = ROOT / "build" / "test-artifacts"


def test_page_trains_xor_from_the_article_link(browser, server):
    outside = []
    page = _open(browser, server, ARTICLE_XOR, outside)
    page.wait_for_timeout(500)
    before = _heatmap(page)
    assert page.is_visible("[data-testid=dataset-xor]") and page.is_visible("[data-testid=reset]")
    assert page.is_hidden("[data-testid=error]")
    start = time.time()
    page.click("[data-testid=play]")
    loss, reached = _wait_loss(page, 0.05, 30)
    assert reached is not None, f"test loss {loss} after 30 s"
    assert _heatmap(page) != before
    assert int(page.inner_text("[data-testid=epoch]").replace(",", "")) > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-xor.png"), full_page=True)
    print(f"xor: test loss {loss:.3f} after {reached - start:.1f} s; screenshot {ARTIFACTS / 'playground-xor.png'}")
    assert outside == [] and "seed=0.20173" in page.url and "networkShape=7,5,5,2" in page.url


def test_page_trains_spiral_with_every_feature(browser, server):
    outside = []
    hash_ = ("dataset=spiral&networkShape=8,8&x=true&y=true&xSquared=true&ySquared=true&xTimesY=true&sinX=true&"
             "sinY=true&learningRate=0.03&activation=tanh&seed=0.5&batchSize=10&noise=0")
    page = _open(browser, server, hash_, outside)
    start = time.time()
    page.click("[data-testid=play]")
    loss, reached = _wait_loss(page, 0.2, 60)
    assert reached is not None, f"test loss {loss} after 60 s"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-spiral.png"), full_page=True)
    print(f"spiral: test loss {loss:.3f} after {reached - start:.1f} s")
    assert outside == []


def test_page_shows_errors_and_tabs_are_independent(browser, server):
    outside = []
    page = _open(browser, server, "dataset=xor&learningRate=abc", outside)
    page.wait_for_selector("[data-testid=error]:not([hidden])")
    assert "learningRate: expected a number, got 'abc'" in page.inner_text("[data-testid=error]")
    page.evaluate("control(null, {batchSize: 99})")           # a control the server must refuse
    _until(page, "document.querySelector('[data-testid=error]').textContent.includes('batchSize')")
    assert "batchSize: expected a value from 1 to 30, got 99" in page.inner_text("[data-testid=error]")
    page.click("[data-testid=dataset-spiral]")                 # a good control clears it
    page.wait_for_selector("[data-testid=error]", state="hidden")
    assert "dataset=spiral" in page.url
    other = _open(browser, server, "dataset=gauss", outside)
    other.click("[data-testid=play]")
    _until(other, "Number(document.querySelector('[data-testid=epoch]').textContent.replace(/,/g, '')) > 3")
    assert page.inner_text("[data-testid=epoch]").replace(",", "").lstrip("0") == ""   # the first tab never played
    assert len(server.sessions) == 2
    other.close()
    deadline = time.time() + 10
    while len(server.sessions) > 1 and time.time() < deadline:
        time.sleep(0.1)
    assert len(server.sessions) == 1
    assert outside == []
