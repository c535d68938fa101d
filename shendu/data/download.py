"""Fetching dataset files: cache directory, mirrors, checksums, atomic writes.

:func:`fetch` returns the path of a verified local copy of one file
(:class:`Resource`), in this order:

1. the file already in the directory (``root=``, else the cache
   ``$SHENDU_DATA/<dataset>``, else ``~/.cache/shendu/<dataset>``), checked;
2. with ``download=True``, each mirror in turn: the file is streamed into a
   temporary file in the same directory (``.<name>.<random>.part``, with a
   progress bar when tqdm is installed), its length is checked against
   Content-Length, its checksum against the registry, and only then is it
   fsync'ed and renamed into place with ``os.replace``, so a partial or bad
   download never appears under the real name; a failing mirror is
   recorded and the next one tried;
3. otherwise a :class:`DataNotFoundError` that names the file, the URLs
   tried with what went wrong at each, and the path to put the file at.

Checksums: a file is accepted when its SHA-256 equals that of the canonical
file as distributed (:attr:`Resource.sha256`) or, for gzip files, when the
SHA-256 of its decompressed content equals :attr:`Resource.content_sha256`:
mirrors that recompress the same data (different gzip headers) pass, and so
does an uncompressed copy placed by hand. docs/data.md says which sums were
checked against real files on the project's machines.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import tempfile
import zlib
from dataclasses import dataclass

CHUNK = 1 << 20
USER_AGENT = "shendu-data/0.1 (+https://github.com/shendu)"


class DataNotFoundError(FileNotFoundError):
    """A dataset file is neither present nor downloadable; the message says
    which file, the URLs tried and where to put it."""


class ChecksumError(ValueError):
    """A file's content does not match the registry's checksum; ``detail``
    holds the sums without the file name."""

    def __init__(self, path, detail):
        super().__init__(f"{path}: checksum mismatch: {detail}")
        self.detail = detail


class DownloadError(OSError):
    """One download attempt failed (HTTP error, short read)."""


@dataclass(frozen=True)
class Resource:
    """One file of a dataset, as its authors distribute it.

    Attributes:
        filename: the canonical file name (the name on every mirror).
        sha256: SHA-256 of the canonical file, as distributed.
        size: its size in bytes (for the docs and the progress bar; None if unknown).
        content_sha256: for gzip files, SHA-256 of the decompressed content,
            which stays the same when a mirror recompresses the file.
    """

    filename: str
    sha256: str
    size: int | None = None
    content_sha256: str | None = None


def cache_dir(dataset: str | None = None) -> pathlib.Path:
    """The download cache: ``$SHENDU_DATA`` if set, else ``~/.cache/shendu``;
    with ``dataset``, its subdirectory (``~/.cache/shendu/mnist``)."""
    env = os.environ.get("SHENDU_DATA")
    base = pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".cache" / "shendu"
    return base / dataset if dataset else base


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_gunzip(path):
    """SHA-256 of the decompressed content of a gzip file, streamed; None when
    the gzip stream is corrupt or cut short."""
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


_verified = set()  # (path, size, mtime_ns, sha256) of files already checked in this process


def verify(path, resource: Resource) -> None:
    """Check ``path`` against ``resource``; raise :class:`ChecksumError` naming
    the file, the expected and the actual sums when it does not match."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, resource.sha256)
    if key in _verified:
        return
    got = _sha256_file(path)
    ok = got == resource.sha256
    detail = f"{resource.filename} has sha256 {got}, expected {resource.sha256}"
    if not ok and resource.content_sha256:
        if _is_gzip(path):
            content = _sha256_gunzip(path)
            ok = content == resource.content_sha256
            detail += ("; the gzip data is corrupt or truncated" if content is None else
                       f"; sha256 of the decompressed content {content}, expected {resource.content_sha256}")
        else:  # an uncompressed copy
            ok = got == resource.content_sha256
            detail += f" (or {resource.content_sha256} uncompressed)"
    if not ok:
        raise ChecksumError(os.fspath(path), detail)
    _verified.add(key)


def _progress_bar(total, desc, enabled):
    """A tqdm bar when tqdm is installed and ``enabled``; else None."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def _download_to(url, directory, filename, progress, timeout):
    """Stream ``url`` into a new temporary file in ``directory``; return its
    path. Raises :class:`DownloadError` on a short read (fewer bytes than
    Content-Length); the temporary file is removed on any failure."""
    import urllib.request  # here, not at the top: `import shendu` stays quick

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                _copy_checked(resp, out, filename, progress)
            return tmp
        except BaseException:
            _unlink(tmp)
            raise


def _copy_checked(resp, out, filename, progress):
    """Copy the HTTP response body to ``out``, check its length against
    Content-Length, then flush and fsync."""
    length = resp.headers.get("Content-Length")
    length = int(length) if length is not None else None
    bar = _progress_bar(length, filename, progress)
    got = 0
    try:
        for block in iter(lambda: resp.read(CHUNK), b""):
            out.write(block)
            got += len(block)
            if bar is not None:
                bar.update(len(block))
    finally:
        if bar is not None:
            bar.close()
    if length is not None and got != length:
        raise DownloadError(f"truncated download: received {got} of {length} bytes (Content-Length)")
    out.flush()
    os.fsync(out.fileno())


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _reason(exc):
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable ({exc.reason})"
    return f"{type(exc).__name__}: {exc}"


def local_copy(resource: Resource, directory):
    """The path of ``resource`` in ``directory`` if present: the file under
    its canonical name or, for ``name.gz`` with a content checksum, an
    uncompressed ``name``. None when absent."""
    directory = pathlib.Path(directory)
    names = [resource.filename]
    if resource.filename.endswith(".gz") and resource.content_sha256:
        names.append(resource.filename[:-3])
    for name in names:
        if (directory / name).is_file():
            return directory / name
    return None


def fetch(resource: Resource, directory, mirrors=(), download=True, progress=True, timeout=30.0, dataset=""):
    """A verified local copy of ``resource``, downloaded if needed.

    Args:
        resource: the file and its checksums.
        directory: where the file is looked for and downloaded to (created
            when a download starts).
        mirrors: base URLs tried in order; the file's URL is
            ``mirror + filename``.
        download: try the mirrors when the file is absent (else fail at once).
        progress: show a progress bar (needs tqdm; silently none without it).
        timeout: seconds before a silent connection is given up.
        dataset: the dataset's name, for the messages.

    Returns:
        the path of the verified file.

    Raises:
        ChecksumError: the file present in ``directory`` does not match.
        DataNotFoundError: the file is absent and no mirror gave a good copy;
            the message lists each URL with its failure and the path to
            put the file at.
    """
    directory = pathlib.Path(directory).expanduser()
    target = directory / resource.filename
    present = local_copy(resource, directory)
    if present is not None:
        verify(present, resource)
        return present
    where = f"{dataset}: " if dataset else ""
    urls = [m.rstrip("/") + "/" + resource.filename for m in mirrors]
    put_it = (f"Download it by hand{' from ' + ' or '.join(urls) if urls else ''} and put it at {target} "
              f"(or pass root= a directory that holds {resource.filename}).")
    if not download:
        raise DataNotFoundError(f"{where}{resource.filename} is not in {directory} and download=False. {put_it}")
    import http.client

    failures = []
    for url in urls:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = _download_to(url, directory, resource.filename, progress, timeout)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # unreachable, HTTP errors, short reads, disk
            failures.append(f"  {url}: {_reason(exc)}")
            continue
        try:
            verify(tmp, resource)
        except ChecksumError as exc:
            _unlink(tmp)
            failures.append(f"  {url}: checksum mismatch: {exc.detail}")
            continue
        os.replace(tmp, target)
        _fsync_dir(directory)
        return target
    tried = "\n".join(failures) if failures else "  (no mirrors given)"
    raise DataNotFoundError(f"{where}could not obtain {resource.filename}; tried:\n{tried}\n{put_it}")
