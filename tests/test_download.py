"""The download path of shendu.data against a local HTTP server on 127.0.0.1.

The server serves the real MNIST files of ../shared/data/mnist (through
symlinks) as mirrors that behave well or badly:

    /good/    the real files (recompressed copies: their gzip bytes differ
              from the canonical ones, their content is canonical)
    /corrupt/ t10k-labels with bytes flipped inside the compressed data
    /cut/     t10k-labels cut to half its length (honest Content-Length)
    /short/   any file, announced with its full Content-Length but only half sent
    /empty/   nothing (404)
"""
import gzip
import http.server
import os
import pathlib
import socket
import sys
import threading

import numpy as np
import pytest

import shendu
from shendu.data import ChecksumError, DataNotFoundError, cache_dir, fetch
from shendu.data.datasets import MNIST_FILES

TEST_LABELS = MNIST_FILES["test"][1]  # t10k-labels-idx1-ubyte.gz
COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith("/short/"):
            data = (pathlib.Path(self.directory) / "good" / self.path[len("/short/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(mnist_dir, tmp_path_factory, monkeypatch):
    """A threading HTTP server on 127.0.0.1; yields its base URL."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    www = tmp_path_factory.mktemp("www")
    for sub in ("good", "corrupt", "cut", "empty"):
        (www / sub).mkdir(parents=True)
    for f in mnist_dir.iterdir():
        if f.name.endswith(".gz"):
            (www / "good" / f.name).symlink_to(f)
    raw = bytearray((mnist_dir / TEST_LABELS.filename).read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)
    (www / "corrupt" / TEST_LABELS.filename).write_bytes(bytes(raw))
    full = (mnist_dir / TEST_LABELS.filename).read_bytes()
    (www / "cut" / TEST_LABELS.filename).write_bytes(full[: len(full) // 2])

    handler = lambda *a, **k: _Handler(*a, directory=str(www), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _dead_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


def _leftovers(d):
    return sorted(p.name for p in pathlib.Path(d).iterdir()) if pathlib.Path(d).exists() else []


def test_download_good_mirror_and_load(server, tmp_path, mnist_dir):
    root = tmp_path / "cache"
    ds = shendu.data.mnist(split="test", root=root, mirrors=[server.base + "/good/"], progress=False)
    assert len(ds) == 10000 and ds.arrays[0].shape == (10000, 1, 28, 28)
    assert np.bincount(ds.arrays[1]).tolist() == COUNTS
    assert _leftovers(root) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]  # no .part left
    assert (root / TEST_LABELS.filename).read_bytes() == (mnist_dir / TEST_LABELS.filename).read_bytes()
    # present now: a second load makes no request
    n = len(server.requests)
    shendu.data.mnist(split="test", root=root, mirrors=[server.base + "/good/"], progress=False)
    assert len(server.requests) == n


def test_bad_mirrors_are_skipped_in_order(server, tmp_path):
    mirrors = [server.base + m for m in ("/empty/", "/corrupt/", "/cut/", "/short/", "/good/")]
    path = fetch(TEST_LABELS, tmp_path, mirrors, progress=False)
    assert path == tmp_path / TEST_LABELS.filename
    assert [r.split("/")[1] for r in server.requests] == ["empty", "corrupt", "cut", "short", "good"]
    assert _leftovers(tmp_path) == [TEST_LABELS.filename]


@pytest.mark.parametrize("mirror, reason", [
    ("/corrupt/", "checksum mismatch"),
    ("/cut/", "corrupt or truncated"),
    ("/short/", "truncated download: received 2271 of 4542 bytes"),
    ("/empty/", "HTTP 404"),
])
def test_failed_download_leaves_nothing(server, tmp_path, mirror, reason):
    url = server.base + mirror
    with pytest.raises(DataNotFoundError) as e:
        fetch(TEST_LABELS, tmp_path, [url], progress=False, dataset="mnist")
    msg = str(e.value)
    assert reason in msg and url + TEST_LABELS.filename in msg
    assert str(tmp_path / TEST_LABELS.filename) in msg  # where to put it by hand
    assert _leftovers(tmp_path) == []  # neither the file nor a partial one


def test_offline_error_names_file_urls_and_place(tmp_path):
    dead = _dead_url()
    with pytest.raises(DataNotFoundError) as e:
        fetch(TEST_LABELS, tmp_path / "mnist", [dead, dead + "mirror2/"], progress=False, dataset="mnist", timeout=5)
    msg = str(e.value)
    assert msg.startswith("mnist: could not obtain t10k-labels-idx1-ubyte.gz")
    assert msg.count("unreachable") == 2 and dead + "mirror2/t10k-labels-idx1-ubyte.gz" in msg
    assert f"put it at {tmp_path / 'mnist' / 't10k-labels-idx1-ubyte.gz'}" in msg
    assert isinstance(e.value, FileNotFoundError)


def test_download_false_makes_no_request(server, tmp_path):
    with pytest.raises(DataNotFoundError, match="download=False"):
        fetch(TEST_LABELS, tmp_path, [server.base + "/good/"], download=False)
    assert server.requests == []


def test_mnist_test_split_from_root_without_train_images(mnist_dir, tmp_path):
    ds = shendu.data.mnist(split="test", root=mnist_dir, download=False)
    assert np.bincount(ds.arrays[1]).tolist() == COUNTS
    # ../shared holds only the first 10,000 training images (train-images-first10k-…), which are
    # read as a directory of IDX files; without any training images: a clear error naming the
    # file and the place, after trying the (here unreachable) mirrors
    assert len(shendu.data.mnist(split="train", root=mnist_dir, download=False)) == 10000
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / f).symlink_to(mnist_dir / f)
    with pytest.raises(DataNotFoundError) as e:
        shendu.data.mnist(root=tmp_path, mirrors=[_dead_url()], progress=False)
    assert "train-images-idx3-ubyte.gz" in str(e.value) and str(tmp_path) in str(e.value)


def test_corrupt_local_file_is_rejected(mnist_dir, tmp_path):
    raw = bytearray((mnist_dir / TEST_LABELS.filename).read_bytes())
    raw[-20:-10] = bytes(10)
    (tmp_path / TEST_LABELS.filename).write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match=str(tmp_path / TEST_LABELS.filename)):
        fetch(TEST_LABELS, tmp_path, download=False)


def test_uncompressed_local_copy_is_accepted(mnist_dir, tmp_path):
    content = gzip.decompress((mnist_dir / TEST_LABELS.filename).read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(content)
    path = fetch(TEST_LABELS, tmp_path, download=False)
    assert path.name == "t10k-labels-idx1-ubyte"
    assert shendu.data.read_idx(path).shape == (10000,)


def test_canonical_sums_of_the_files_here(mnist_dir):
    """The content sums in the registry were computed from these real files;
    the gzip bytes here are recompressed, so the canonical sha256 differs."""
    for res in (*MNIST_FILES["test"], MNIST_FILES["train"][1]):
        f = mnist_dir / res.filename
        shendu.data.download.verify(f, res)  # passes through the content sum
        assert shendu.data.download._sha256_file(f) != res.sha256
        assert f.stat().st_size == res.size  # same length as the canonical file


def test_cache_dir_from_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "store"))
    assert cache_dir("mnist") == tmp_path / "store" / "mnist"
    ds = shendu.data.mnist(split="test", mirrors=[server.base + "/good/"], progress=False)
    assert len(ds) == 10000
    assert (tmp_path / "store" / "mnist" / TEST_LABELS.filename).is_file()
    monkeypatch.delenv("SHENDU_DATA")
    assert cache_dir() == pathlib.Path.home() / ".cache" / "shendu"


def test_progress_bar_with_and_without_tqdm(server, tmp_path, monkeypatch, capsys):
    pytest.importorskip("tqdm")
    fetch(TEST_LABELS, tmp_path / "a", [server.base + "/good/"], progress=True)
    assert "t10k-labels-idx1-ubyte.gz" in capsys.readouterr().err  # tqdm writes to stderr
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now raises ImportError
    fetch(TEST_LABELS, tmp_path / "b", [server.base + "/good/"], progress=True)
    assert capsys.readouterr().err == ""
    assert (tmp_path / "b" / TEST_LABELS.filename).is_file()


def test_fetch_creates_missing_directory_only_when_downloading(tmp_path):
    target = tmp_path / "deep" / "dir"
    with pytest.raises(DataNotFoundError):
        fetch(TEST_LABELS, target, download=False)
    assert not target.exists()
    assert os.listdir(tmp_path) == []
