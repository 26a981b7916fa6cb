"""B1/B5: uploads and downloads through the gateway against direct PUT/GET to the same S3 server, same files, same run.

    .venv/bin/python bench/upload.py                  # 100 KB, 10 MB, 200 MB x 3, then 1 GiB for memory: ~2 min
    .venv/bin/python bench/upload.py --quick          # 1 repeat, 100 KB and 10 MB, memory with 100 MB: < 1 min
    .venv/bin/python bench/upload.py --add-size 1GB   # one more size in the throughput table

See bench/README.md. Starts a whole throwaway Porta the way bench/bulk_access.py does (its `Stack`: every
service and the gateway through devstack.system.PortaSystem, its own vhost, databases, SMTP server and
var folder) plus its own s3rver on a free port storing into that var folder, with its own bucket; removes
all of it when done, when interrupted, after --limit seconds, and (through bulk_access's watchdog) if
the bench itself is killed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from bounded import run, stop_after
from bulk_access import PASSWORD, Stack
from devstack import environment, infra
from minio import Minio

from shared.storage import MIB, part_size_for

KB, MB, GB, GIB = 1000, 1000**2, 1000**3, 1024**3
# What the gateway streams with: documents' default limit (5 GB) gives parts of 5 MiB (shared.storage).
PART_SIZE = part_size_for(5 * GB)
CLIENT_CHUNK = MIB  # what the bench's clients read and yield at a time
SAMPLE_BYTES = 20 * MB  # small files are sent several times per sample (up to MAX_OPS) to time more than one RPC
MAX_OPS = 20
FREE_DISK_NEEDED = 5 * GIB
# A PDF header, so the gateway's type check (documents.filetypes: magic bytes against the extension) accepts it.
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the processes we watch (/proc: psutil is not in .venv) -----------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (VmRSS), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time `pid` has used so far (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers of its master)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


class RssSampler:
    """Samples the RSS of `pids` every `interval` seconds in a thread; the peak of each since start."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        self.pids, self.interval = pids, interval
        self.peaks = {pid: 0 for pid in pids}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peaks[pid] = max(self.peaks[pid], rss_bytes(pid))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def idle_rss(pids: list[int], seconds: float = 1.0) -> dict[int, int]:
    """Each process's RSS at rest: the highest of `seconds` worth of 50 ms samples."""
    with RssSampler(pids) as sampler:
        time.sleep(seconds)
    return sampler.peaks


# --- the files -----------------------------------------------------------------------------------------


@dataclass
class TestFile:
    path: Path
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def make_file(folder: Path, size: int, prefix: str = "bench") -> TestFile:
    """A PDF header followed by random bytes, `size` of them in all, named .pdf."""
    path = folder / f"{prefix}-{label(size).replace(' ', '')}.pdf"
    digest = hashlib.sha256()
    rng = random.Random(size)
    with open(path, "wb") as out:
        written = 0
        while written < size:
            chunk = rng.randbytes(CLIENT_CHUNK)
            if written == 0:
                chunk = PDF_HEAD + chunk[len(PDF_HEAD):]
            chunk = chunk[:size - written]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return TestFile(path, size, digest.hexdigest())


def file_chunks(path: Path) -> Iterator[bytes]:
    """The file in CLIENT_CHUNK pieces: as a request body, requests sends it chunked (no Content-Length)."""
    with open(path, "rb") as source:
        while chunk := source.read(CLIENT_CHUNK):
            yield chunk


def parse_size(text: str) -> int:
    """"100KB", "10MB", "1GiB", "1.5GB" or plain bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMG]i?B|B)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100KB, 10MB, 1GiB)")
    unit = (match.group(2) or "B").upper()
    factor = {"B": 1, "KB": KB, "MB": MB, "GB": GB, "KIB": 1024, "MIB": MIB, "GIB": GIB}[unit]
    return int(float(match.group(1)) * factor)


def label(size: int) -> str:
    for unit, factor in (("GiB", GIB), ("GB", GB), ("MiB", MIB), ("MB", MB), ("KB", KB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


# --- the two clients -------------------------------------------------------------------------------------


class Direct:
    """The baseline: minio-py straight to the S3 server, with the gateway's part size."""

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.client = Minio(endpoint, access_key="S3RVER", secret_key="S3RVER", secure=False)
        self.bucket = bucket

    def upload(self, file: TestFile) -> str:
        key = f"bench/direct/{uuid.uuid4().hex}"
        with open(file.path, "rb") as source:  # its length known, as the gateway knows a Content-Length
            self.client.put_object(self.bucket, key, source, length=file.size, part_size=PART_SIZE,
                                   content_type="application/octet-stream")
        return key

    def download(self, key: str) -> int:
        response = self.client.get_object(self.bucket, key)
        try:
            return sum(len(chunk) for chunk in response.stream(CLIENT_CHUNK))
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)


class Gateway:
    """The subject: the HTTP API as a staff member, into one account's private root."""

    def __init__(self, url: str) -> None:
        self.url = url
        tag = uuid.uuid4().hex[:8]
        signed = requests.post(f"{url}/api/v1/auth/signup", timeout=30, json={
            "firm_name": f"Bench {tag}", "name": "Bench Owner", "email": f"owner-{tag}@example.com",
            "password": PASSWORD})
        signed.raise_for_status()
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {signed.json()['token']}"
        account = self.http.post(f"{url}/api/v1/accounts", json={"name": "Bench client", "type": "individual"},
                                 timeout=30)
        account.raise_for_status()
        self.account_id = account.json()["id"]

    def upload(self, file: TestFile, chunked: bool = False) -> str:
        """POST the file as a raw body, streamed from disk: with a Content-Length, or chunked from a generator."""
        body: Any = file_chunks(file.path) if chunked else open(file.path, "rb")
        try:
            resp = self.http.post(f"{self.url}/api/v1/accounts/{self.account_id}/documents", data=body,
                                  params={"filename": file.name}, headers={"Content-Type": "application/pdf"},
                                  timeout=(10, 900))
        finally:
            if not chunked:
                body.close()
        if resp.status_code != 201:
            raise UploadFailed(f"{resp.status_code} {resp.text[:300]}")
        document = resp.json()["items"][0]
        if document["size"] != file.size or document["sha256"] != file.sha256:
            raise UploadFailed(f"stored {document['size']} bytes (sha256 {document['sha256'][:12]}...), "
                               f"sent {file.size} (sha256 {file.sha256[:12]}...)")
        return document["id"]

    def download(self, document_id: str) -> int:
        with self.http.get(f"{self.url}/api/v1/documents/{document_id}/content", stream=True,
                           timeout=(10, 900)) as resp:
            resp.raise_for_status()
            return sum(len(chunk) for chunk in resp.iter_content(CLIENT_CHUNK))

    def delete(self, document_id: str) -> None:
        resp = self.http.delete(f"{self.url}/api/v1/documents/{document_id}", timeout=30)
        if resp.status_code != 204:
            raise RuntimeError(f"DELETE document {document_id}: {resp.status_code} {resp.text[:300]}")


class UploadFailed(RuntimeError):
    pass


# --- measuring ---------------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float  # for all `ops` transfers
    ops: int
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process kind during the sample


class Watched:
    """The processes whose CPU time a sample records: the bench itself, the gateway's workers, s3rver."""

    def __init__(self, workers: list[int], s3rver: int) -> None:
        self.workers, self.s3rver = workers, s3rver

    def snapshot(self) -> dict[str, float]:
        return {"client": time.process_time(), "gateway": sum(cpu_seconds(pid) for pid in self.workers),
                "s3": cpu_seconds(self.s3rver)}


def timed(watched: Watched, ops: int, one: Callable[[int], None]) -> Sample:
    before = watched.snapshot()
    started = time.perf_counter()
    for i in range(ops):
        one(i)
    seconds = time.perf_counter() - started
    after = watched.snapshot()
    return Sample(seconds, ops, {k: after[k] - before[k] for k in before})


def measure_size(file: TestFile, direct: Direct, gateway: Gateway, watched: Watched, repeats: int,
                 results: dict[str, list[Sample]]) -> None:
    """`repeats` rounds of: direct upload, gateway upload, direct download, gateway download (A B A B)."""
    ops = max(1, min(MAX_OPS, SAMPLE_BYTES // file.size))
    for repeat in range(repeats):
        samples = one_round(file, ops, direct, gateway, watched)
        for name, sample in samples.items():
            results[name].append(sample)
        line = "  ".join(f"{name} {file.size * s.ops / s.seconds / MB:7.1f} MB/s" for name, s in samples.items())
        print(f"  {label(file.size):>7} #{repeat + 1} ({ops} x): {line}", flush=True)


def one_round(file: TestFile, ops: int, direct: Direct, gateway: Gateway, watched: Watched) -> dict[str, Sample]:
    keys: list[str] = []
    documents: list[str] = []

    def check(got: int) -> None:
        if got != file.size:
            raise RuntimeError(f"downloaded {got} bytes of {file.size}")

    samples = {
        "up direct": timed(watched, ops, lambda i: keys.append(direct.upload(file))),
        "up gateway": timed(watched, ops, lambda i: documents.append(gateway.upload(file))),
        "down direct": timed(watched, ops, lambda i: check(direct.download(keys[i]))),
        "down gateway": timed(watched, ops, lambda i: check(gateway.download(documents[i]))),
    }
    for key in keys:
        direct.delete(key)
    for document_id in documents:
        gateway.delete(document_id)
    return samples


def memory_run(stack: UploadStack, gateway: Gateway, warm: TestFile, what: str, file: TestFile,
               chunked: bool = False, document_id: str | None = None) -> dict[str, Any]:
    """One upload (or download of `document_id`) of `file` through a freshly started one-worker gateway,
    its RSS sampled: the peak over its idle RSS after a warm-up of three 100 KB uploads and downloads."""
    run: dict[str, Any] = {"what": what, "size": file.size, "body": "chunked" if chunked else "Content-Length"}
    workers = stack.fresh_gateway(workers=1)
    gateway.http.close()  # its kept connection went with the old workers
    for _ in range(3):
        warm_id = gateway.upload(warm)
        gateway.download(warm_id)
        gateway.delete(warm_id)
    idle = idle_rss(workers)
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    started = time.perf_counter()
    with RssSampler(workers) as sampler:
        try:
            if what == "upload":
                run["document_id"] = gateway.upload(file, chunked=chunked)
            else:
                got = gateway.download(str(document_id))
                if got != file.size:
                    raise UploadFailed(f"downloaded {got} bytes of {file.size}")
        except (UploadFailed, requests.RequestException) as failed:
            run["error"] = f"{type(failed).__name__}: {failed}"
    run["seconds"] = time.perf_counter() - started
    run["gateway_cpu_s"] = sum(cpu_seconds(pid) for pid in workers) - cpu_before
    worker = workers[0]
    run.update(worker=worker, idle_mib=idle[worker] / MIB, peak_mib=sampler.peaks[worker] / MIB,
               growth_mib=(sampler.peaks[worker] - idle[worker]) / MIB, samples=sampler.samples)
    print(f"  {json.dumps(run)}", flush=True)
    return run


# --- the system ------------------------------------------------------------------------------------------


class UploadStack(Stack):
    """bulk_access's throwaway Porta, pointed at an s3rver of its own (started after the system, into its
    var folder, so the watchdog removes its objects with the folder)."""

    def start(self) -> None:
        base = environment.porta_env(service_db_urls=False)
        self.tools_dir = Path(base["PORTA_TOOLS_DIR"])
        self.s3_port = environment.free_port()
        os.environ["PORTA_S3_ENDPOINT"] = f"127.0.0.1:{self.s3_port}"
        os.environ["PORTA_S3_ACCESS_KEY"] = os.environ["PORTA_S3_SECRET_KEY"] = "S3RVER"
        os.environ["PORTA_S3_SECURE"] = "false"
        super().start()
        assert self.system is not None
        env = dict(self.system.env)
        self.var_dir = Path(self.state["var_dir"])
        s3rver = infra.install_s3rver(self.tools_dir)
        data_dir = self.var_dir / "s3"
        data_dir.mkdir()
        self.s3rver = infra.start_daemon("s3rver", [str(s3rver), "-d", str(data_dir), "-a", "127.0.0.1",
                                                    "-p", str(self.s3_port), "--silent"], env)
        self._remember(pgids=[self.s3rver.pid])
        environment.wait_for_port("127.0.0.1", self.s3_port, timeout=30, process=self.s3rver)
        self.bucket = env["PORTA_S3_BUCKET"]
        infra.ensure_bucket(env)
        self.workers = self._workers(int(env.get("PORTA_GATEWAY_WORKERS", "2")))

    def _workers(self, expected: int) -> list[int]:
        """The pids of the gateway's gunicorn workers, once all `expected` of them are forked."""
        assert self.system is not None
        gunicorn = self.system.processes["gateway"][0].popen.pid
        deadline = time.monotonic() + 30
        while len(workers := children_of(gunicorn)) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(workers)} gunicorn workers under the gateway's master {gunicorn}, "
                                   f"expected {expected}")
            time.sleep(0.1)
        return workers

    def fresh_gateway(self, workers: int) -> list[int]:
        """Restart the gateway with `workers` new worker processes (nothing kept from earlier requests)."""
        assert self.system is not None
        self.system.env = {**self.system.env, "PORTA_GATEWAY_WORKERS": str(workers)}
        process = self.system.restart("gateway")
        self._remember(pgids=[process.popen.pid])
        return self._workers(workers)


def free_disk(paths: list[Path]) -> int:
    return min(shutil.disk_usage(p).free for p in paths)


def median_rate(samples: list[Sample], size: int) -> float:
    """MB/s of the median sample."""
    return statistics.median(size * s.ops / s.seconds for s in samples) / MB


def report(sizes: list[int], results: dict[int, dict[str, list[Sample]]], memory: list[dict[str, Any]],
           json_path: Path | None) -> None:
    print(f"\nThroughput, median of {len(next(iter(results.values()))['up direct'])} samples (1 client, "
          f"one transfer at a time; MB = 10^6 bytes). cpu = CPU ms per MB of the bench client / gateway workers / "
          f"s3rver during the sample (2 cores shared by all of them, PostgreSQL and RabbitMQ).")
    header = f"  {'size':>7} {'':>4}  {'direct':>8}  {'gateway':>8}  {'ratio':>6}   {'cpu direct c/g/s3':>18}  " \
             f"{'cpu gateway c/g/s3':>18}  {'per op direct / gateway':>24}"
    print(header)
    figures: dict[str, Any] = {}
    for size in sizes:
        per_size = results[size]
        for way in ("up", "down"):
            a, b = per_size[f"{way} direct"], per_size[f"{way} gateway"]
            rate_a, rate_b = median_rate(a, size), median_rate(b, size)
            cpu = {name: {k: statistics.median(s.cpu[k] * 1000 / (size * s.ops / MB) for s in samples)
                          for k in ("client", "gateway", "s3")} for name, samples in (("direct", a), ("gateway", b))}
            ms_a = statistics.median(s.seconds / s.ops for s in a) * 1000
            ms_b = statistics.median(s.seconds / s.ops for s in b) * 1000
            cpu_text = ["/".join(f"{cpu[n][k]:.1f}" for k in ("client", "gateway", "s3"))
                        for n in ("direct", "gateway")]
            print(f"  {label(size):>7} {way:>4}  {rate_a:8.1f}  {rate_b:8.1f}  {rate_b / rate_a:6.3f}x  "
                  f"{cpu_text[0]:>18}  {cpu_text[1]:>18}  {ms_a:10.1f} / {ms_b:8.1f} ms")
            figures[f"{label(size)} {way}"] = {"direct_mb_s": rate_a, "gateway_mb_s": rate_b, "ratio": rate_b / rate_a,
                                               "direct_ms": ms_a, "gateway_ms": ms_b, "cpu_ms_per_mb": cpu}
    print("  goal (issue 10): ratio >= 0.3 for 100 KB, >= 0.8 for 10 MB, >= 0.85 for 200 MB, both ways")
    if memory:
        print("\nGateway worker RSS: peak during one transfer over the idle RSS just before it, on a fresh one-worker "
              "gateway each time (sampled every 50 ms; goal < 20 MiB, independent of size)")
    for one in memory:
        what = f"  {one['what']:<8} {label(one['size']):>7} {one['body']:<14}"
        if "error" in one:
            print(f"{what} FAILED after {one['seconds']:.1f} s: {one['error']}")
            continue
        print(f"{what} +{one['growth_mib']:6.1f} MiB (idle {one['idle_mib']:.0f}, peak {one['peak_mib']:.0f} MiB; "
              f"{one['samples']} samples)  {one['seconds']:6.2f} s  {one['size'] / one['seconds'] / MB:6.1f} MB/s  "
              f"gateway cpu {one['gateway_cpu_s']:.2f} s")
    if json_path:
        json_path.write_text(json.dumps({"throughput": figures, "memory": memory}, indent=2, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=lambda t: [parse_size(s) for s in t.split(",")],
                        default=[100 * KB, 10 * MB, 200 * MB], help="comma-separated (default 100KB,10MB,200MB)")
    parser.add_argument("--add-size", type=parse_size, action="append", default=[], help="one more size (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="samples per size and variant (median printed)")
    parser.add_argument("--memory-size", type=parse_size, default=GIB, help="the large upload of the memory part")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory part")
    parser.add_argument("--limit", type=float, default=1500, help="stop (and clean up) after this many seconds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 KB and 10 MB, 1 repeat, 100 MB memory")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats, args.memory_size = [100 * KB, 10 * MB], 1, 100 * MB
    sizes = sorted(set(args.sizes + args.add_size))

    stop_after(args.limit)  # unwinds through the finally below: everything removed
    stack = UploadStack()
    try:
        started = time.perf_counter()
        stack.start()
        files_dir = stack.var_dir / "files"
        files_dir.mkdir()
        print(f"Porta {stack.url} (vhost {stack.state['vhost']}), s3rver 127.0.0.1:{stack.s3_port} bucket "
              f"{stack.bucket}, gateway workers {stack.workers}; up in {time.perf_counter() - started:.1f} s; "
              f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs shared by the bench client, the gateway, "
              f"s3rver, the services, PostgreSQL and RabbitMQ")
        print("load average {:.1f} {:.1f} {:.1f} (other work on the box skews both paths; run twice)".format(
            *os.getloadavg()))
        print(f"part size {PART_SIZE // MIB} MiB on both paths; files are a PDF header + random bytes; "
              f"{args.repeats} samples per size, order direct, gateway (A B A B)\n")
        direct = Direct(f"127.0.0.1:{stack.s3_port}", stack.bucket)
        gateway = Gateway(stack.url)
        watched = Watched(stack.workers, stack.s3rver.pid)
        warm = make_file(files_dir, 100 * KB, prefix="warm")  # connections, imports, first-request work: untimed
        for _ in range(4):
            direct.delete(direct.upload(warm))
            document_id = gateway.upload(warm)
            gateway.download(document_id)
            gateway.delete(document_id)
        results: dict[int, dict[str, list[Sample]]] = {}
        for size in sizes:
            file = make_file(files_dir, size)
            results[size] = {name: [] for name in ("up direct", "up gateway", "down direct", "down gateway")}
            measure_size(file, direct, gateway, watched, args.repeats, results[size])
            file.path.unlink()
        memory: list[dict[str, Any]] = []
        if not args.no_memory:
            memory = memory_part(stack, gateway, files_dir, warm, args.memory_size)
        report(sizes, results, memory, args.json)
        print("load average at the end {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    finally:
        signal.alarm(0)
        stack.close()


def memory_part(stack: UploadStack, gateway: Gateway, files_dir: Path, warm: TestFile,
                large_size: int) -> list[dict[str, Any]]:
    """10 MB and `large_size` uploads and downloads through the gateway, each on fresh workers, RSS sampled."""
    print("\nMemory: each transfer on a freshly restarted gateway with one worker (PORTA_GATEWAY_WORKERS=1), "
          "its RSS sampled every 50 ms", flush=True)
    small = make_file(files_dir, 10 * MB)
    files = [small]
    free = free_disk([stack.var_dir, Path("/work")])
    if free < FREE_DISK_NEEDED:
        print(f"  SKIPPED the {label(large_size)} runs: {free / GIB:.1f} GiB free on the disk of {stack.var_dir} "
              f"and /work, they need {FREE_DISK_NEEDED / GIB:.0f} GiB (the file, s3rver's parts and the object)")
    else:
        print(f"  {free / GIB:.0f} GiB free; writing the {label(large_size)} file", flush=True)
        files.append(make_file(files_dir, large_size))
    runs: list[dict[str, Any]] = []
    for chunked in (False, True):
        for file in files:
            upload = memory_run(stack, gateway, warm, "upload", file, chunked=chunked)
            runs.append(upload)
            if "document_id" not in upload:
                break  # that kind of body fails: do not send the large file that way
            if not chunked:
                runs.append(memory_run(stack, gateway, warm, "download", file, document_id=upload["document_id"]))
            gateway.delete(upload["document_id"])
    for file in files:
        file.path.unlink()
    return runs


if __name__ == "__main__":
    run(main)
