#!/usr/bin/env python3
"""A real Prometheus (Debian's /usr/bin/prometheus) scrapes caselined's
GET /metrics and one series is queried back through its HTTP API.

    metrics_prometheus_test.py CASELINED CASELINE [DEADLINE_SECONDS]

Starts caselined (gRPC and --http_listen on loopback port 0), appends three
events with the caseline CLI, starts Prometheus on a free loopback port with a
temporary configuration (the caselined target, scraped every 200 ms) and a
temporary TSDB, then polls /api/v1/query until
caseline_log_committed_position reads the log's head and the target is up.
Bounded: everything must happen within DEADLINE_SECONDS (default 20; the
sanitizer builds pass more); both processes are stopped whatever happens. Exit status 0 on success, 1 on failure (the reason,
and the processes' logs, on stderr).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

PROMETHEUS = '/usr/bin/prometheus'
DEADLINE_SECONDS = 20


class Failure(Exception):
    pass


def free_port():
    """A loopback port nothing listens on now (Prometheus binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for_file(path, process, deadline):
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read().strip()
        if process.poll() is not None:
            raise Failure(f'caselined exited with {process.returncode} before writing {path}')
        time.sleep(0.02)
    raise Failure(f'no {path} before the deadline')


def stop(process):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def query(port, expression):
    url = f'http://127.0.0.1:{port}/api/v1/query?' + urllib.parse.urlencode(
        {'query': expression})
    with urllib.request.urlopen(url, timeout=2) as response:
        body = json.load(response)
    if body.get('status') != 'success':
        raise Failure(f'{expression}: {body}')
    return body['data']['result']


def run(caselined, caseline, work, seconds):
    deadline = time.monotonic() + seconds
    processes = []
    logs = {}
    try:
        grpc_file = os.path.join(work, 'grpc-address')
        http_file = os.path.join(work, 'http-address')
        logs['caselined'] = os.path.join(work, 'caselined.log')
        with open(logs['caselined'], 'w') as log:
            caselined_process = subprocess.Popen(
                [caselined, '--data_dir', os.path.join(work, 'data'),
                 '--listen', '127.0.0.1:0', '--listen_address_file', grpc_file,
                 '--http_listen', '127.0.0.1:0', '--http_address_file', http_file,
                 '--log_level', 'warn'],
                stdout=log, stderr=subprocess.STDOUT)
        processes.append(caselined_process)
        grpc_address = wait_for_file(grpc_file, caselined_process, deadline)
        http_address = wait_for_file(http_file, caselined_process, deadline)

        events = [{'event_type': 'CallReceived', 'data': {'line': 'housing help'}},
                  {'event_type': 'ScreeningNoted', 'data': {'need': 'housing'}},
                  {'event_type': 'CallbackScheduled', 'data': {'within_days': 2}}]
        appended = subprocess.run(
            [caseline, '--server', grpc_address, 'append', '--stream', 'intake-1',
             '--expected-version', 'no-stream'],
            input=json.dumps(events), capture_output=True, text=True,
            timeout=max(1, deadline - time.monotonic()))
        if appended.returncode != 0:
            raise Failure(f'caseline append: exit {appended.returncode}: {appended.stderr}')
        head = int(json.loads(appended.stdout.splitlines()[0])['last_global_position'])

        port = free_port()
        config = os.path.join(work, 'prometheus.yml')
        with open(config, 'w') as f:
            f.write('global:\n'
                    '  scrape_interval: 200ms\n'
                    '  scrape_timeout: 200ms\n'
                    'scrape_configs:\n'
                    '  - job_name: caseline\n'
                    '    static_configs:\n'
                    f"      - targets: ['{http_address}']\n")
        logs['prometheus'] = os.path.join(work, 'prometheus.log')
        with open(logs['prometheus'], 'w') as log:
            prometheus_process = subprocess.Popen(
                [PROMETHEUS, '--config.file', config,
                 '--storage.tsdb.path', os.path.join(work, 'tsdb'),
                 '--web.listen-address', f'127.0.0.1:{port}',
                 '--log.level', 'warn'],
                stdout=log, stderr=subprocess.STDOUT)
        processes.append(prometheus_process)

        last = None
        while time.monotonic() < deadline:
            if prometheus_process.poll() is not None:
                raise Failure(f'prometheus exited with {prometheus_process.returncode}')
            try:
                up = query(port, 'up{job="caseline"}')
                committed = query(port, 'caseline_log_committed_position{job="caseline"}')
                last = (up, committed)
                if (up and up[0]['value'][1] == '1' and committed
                        and float(committed[0]['value'][1]) == head):
                    labels = committed[0]['metric']
                    if labels.get('node') != 'single':
                        raise Failure(f'the series has labels {labels}')
                    print(f'Prometheus read caseline_log_committed_position = {head} '
                          f'back from {http_address} (labels {labels})')
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # Prometheus is still starting
            time.sleep(0.1)
        raise Failure(f'Prometheus never had caseline_log_committed_position = {head} '
                      f'within {seconds} s; last answers: {last}')
    except Failure:
        for name, path in logs.items():
            with open(path) as f:
                sys.stderr.write(f'--- {name} log ---\n{f.read()[-4000:]}\n')
        raise
    finally:
        for process in reversed(processes):
            stop(process)


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    if not os.access(PROMETHEUS, os.X_OK):
        sys.stderr.write(f'{PROMETHEUS} is missing: run deploy/install_deps.sh (prometheus)\n')
        return 1
    work = tempfile.mkdtemp(prefix='caseline_prometheus_')
    try:
        seconds = float(sys.argv[3]) if len(sys.argv) == 4 else DEADLINE_SECONDS
        run(sys.argv[1], sys.argv[2], work, seconds)
        return 0
    except Failure as failure:
        sys.stderr.write(f'FAILED: {failure}\n')
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
