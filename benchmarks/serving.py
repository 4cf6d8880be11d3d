"""Latency of the prediction server under load: 100 concurrent clients x N requests, p50/p99 reported.

The server is the real container entry, `zoo serve --vertex`, started as a subprocess on 127.0.0.1 with
Vertex's AIP_* variables and an export of the chosen model (untrained: latency does not depend on the
weights), so the clients (threads here) do not share its interpreter. The reference, measured in the same run,
is the same request answered in-process by `serving.Predictor.predict` (JSON decoding and the model, no
HTTP); the report gives both and their ratio.

    python -m benchmarks.serving                                  # mlp, 100 clients x 20 requests
    python -m benchmarks.serving --model lenet5 --instances 8 --requests 50 --json out.json

Not a test: nothing here passes or fails, except that every request must get a 200.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np


def _export(model_name: str, folder: str) -> None:
    import zoo
    from zoo.registry import resolve_hparams
    from zoo.tasks import get_task

    spec = zoo.get_spec(model_name)
    hparams = {k: v for k, v in dict(spec.small).items() if k in spec.defaults}
    model = zoo.build(model_name, **hparams)
    try:
        served = get_task(spec.task).serving_model(model, spec, resolve_hparams(spec, hparams), {})
    except (ValueError, KeyError):  # a wrapper that needs the dataset's info (a vocabulary): the model itself
        served = model
    served.export(folder, verbose=False)


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = np.sort(np.asarray(values)) * 1000.0
    return {"p50_ms": float(np.percentile(ordered, 50)), "p90_ms": float(np.percentile(ordered, 90)),
            "p99_ms": float(np.percentile(ordered, 99)), "max_ms": float(ordered[-1])}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, route: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", route)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} was not ready after {timeout} s")


def _client(port: int, route: str, body: bytes, requests: int, barrier: threading.Barrier, latencies: list,
            errors: list, keep_alive: bool) -> None:
    headers = {"Content-Type": "application/json"}
    connection = None
    barrier.wait()
    for _ in range(requests):
        started = time.perf_counter()
        try:
            if connection is None or not keep_alive:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                connection.connect()
                # Without this, a body of several TCP segments waits for the server's delayed ACK (40 ms).
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.request("POST", route, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                errors.append(f"{response.status}: {payload[:200]!r}")
        except OSError as err:
            errors.append(f"{type(err).__name__}: {err}")
            connection = None
            continue
        latencies.append(time.perf_counter() - started)
        if not keep_alive:
            connection.close()


def run(model: str = "mlp", clients: int = 100, requests: int = 20, instances: int = 1, keep_alive: bool = True,
        threads: int | None = None) -> dict:
    from zoo.pipeline import serving

    with tempfile.TemporaryDirectory(prefix="zoo-bench-serving-") as folder:
        export = os.path.join(folder, "saved_model")
        _export(model, export)
        predictor = serving.Predictor(export, "bench")
        body = json.dumps({"instances": predictor.sample_instances(instances, free_size=8)}).encode()

        # Reference: the same request in-process, sequentially (decode + validate + model + encode), with the
        # loaded objects frozen out of the cyclic GC's reach as the server does.
        gc.freeze()
        for _ in range(5):
            predictor.predict(json.loads(body))
        direct = []
        for _ in range(max(50, requests)):
            started = time.perf_counter()
            json.dumps(predictor.predict(json.loads(body)))
            direct.append(time.perf_counter() - started)

        port = _free_port()
        route = "/v1/endpoints/1/deployedModels/2"
        env = {**os.environ, "AIP_HTTP_PORT": str(port), "AIP_HEALTH_ROUTE": route,
               "AIP_PREDICT_ROUTE": route + ":predict", "AIP_STORAGE_URI": export}
        command = [sys.executable, "-m", "zoo.cli", "serve", "--vertex", "--host", "127.0.0.1"]
        if threads:
            command += ["--threads", str(threads)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait_ready(port, route)
            # Unloaded: one client, one request at a time (the HTTP and server overhead over in-process).
            alone: list[float] = []
            alone_errors: list[str] = []
            _client(port, route + ":predict", body, max(50, requests), threading.Barrier(1), alone, alone_errors,
                    keep_alive)
            latencies: list[float] = []
            errors: list[str] = []
            barrier = threading.Barrier(clients)
            workers = [threading.Thread(target=_client, args=(port, route + ":predict", body, requests, barrier,
                                                              latencies, errors, keep_alive))
                       for _ in range(clients)]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    served = _percentiles(latencies) if latencies else {}
    reference = _percentiles(direct)
    throughput = len(latencies) / elapsed if elapsed else 0.0
    return {
        "model": model, "clients": clients, "requests_per_client": requests, "instances_per_request": instances,
        "keep_alive": keep_alive, "body_bytes": len(body), "cpus": os.cpu_count(),
        "served": {**served, "requests": len(latencies), "errors": len(errors), "throughput_rps": throughput},
        "served_alone": {**_percentiles(alone), "requests": len(alone), "errors": len(alone_errors)},
        "in_process": reference,
        # Served one at a time over HTTP, against the same request in-process.
        "ratio_alone_p50": _percentiles(alone)["p50_ms"] / reference["p50_ms"],
        # Requests per second under the burst, against what one in-process caller achieves back to back.
        "ratio_throughput": throughput * reference["p50_ms"] / 1000.0,
        "first_errors": (alone_errors + errors)[:5],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--instances", type=int, default=1, help="instances per request")
    parser.add_argument("--new-connections", action="store_true", help="a new connection per request")
    parser.add_argument("--threads", type=int, help="the server's model threads (default min(4, cores))")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args.model, args.clients, args.requests, args.instances, keep_alive=not args.new_connections,
                 threads=args.threads)
    s, r, a = result["served"], result["in_process"], result["served_alone"]
    print(f"{result['model']}: {result['clients']} clients x {result['requests_per_client']} requests, "
          f"{result['instances_per_request']} instance(s) each ({result['body_bytes']} bytes), "
          f"{'keep-alive' if result['keep_alive'] else 'new connection per request'}, {result['cpus']} CPUs")
    print(f"  served     p50 {s.get('p50_ms', float('nan')):8.1f} ms  p90 {s.get('p90_ms', float('nan')):8.1f} ms  "
          f"p99 {s.get('p99_ms', float('nan')):8.1f} ms  max {s.get('max_ms', float('nan')):8.1f} ms  "
          f"{s['throughput_rps']:.0f} req/s  errors {s['errors']}/{s['requests'] + s['errors']}")
    print(f"  alone      p50 {a['p50_ms']:8.2f} ms  p99 {a['p99_ms']:8.2f} ms  (one client, one request at a time)")
    print(f"  in-process p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  (one request at a time, no HTTP)")
    print(f"  ratios: alone/in-process p50 {result['ratio_alone_p50']:.2f}; burst throughput / in-process "
          f"throughput {result['ratio_throughput']:.2f} (the burst's p50 is mostly queueing behind "
          f"{result['clients'] - 1} other clients; they share the machine's CPUs with the server)")
    if result["first_errors"]:
        print("  first errors:", *result["first_errors"], sep="\n    ")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0 if not s["errors"] and not a["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
