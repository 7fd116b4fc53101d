#!/usr/bin/env python3
"""The fresh machine's only way out: an HTTP proxy on a UNIX socket that lets
through the package registries and nothing else (deploy/fresh-machine-check.sh
bridges the machine's 127.0.0.1:3128 to this socket). It understands CONNECT
(for https) and absolute-form requests (apt's plain http), logs one line per
connection (allowed or refused, with the bytes each way) and writes nothing
else. Standard library only: the host needs python3 and nothing more."""

import argparse
import asyncio
import sys
import time

REGISTRIES = (
    "deb.debian.org", "security.debian.org",        # Debian's packages
    "index.crates.io", "static.crates.io", "crates.io",  # the crate registry
    "pypi.org", "files.pythonhosted.org",           # PyPI
    "registry.npmjs.org",                           # npm
)


def allowed(host: str) -> bool:
    return host in REGISTRIES


async def pipe(reader, writer, counter, index):
    try:
        while chunk := await reader.read(65536):
            counter[index] += len(chunk)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def parse_target(line: str):
    """(method, host, port) from a request line, or None."""
    parts = line.split()
    if len(parts) != 3:
        return None
    method, target, _ = parts
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        return method, host.strip("[]"), int(port or 443)
    if target.startswith("http://"):
        authority = target[len("http://"):].split("/", 1)[0]
        host, _, port = authority.partition(":")
        return method, host, int(port or 80)
    return None


async def serve(client_reader, client_writer, log):
    started = time.monotonic()
    try:
        head = await client_reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        client_writer.close()
        return
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    target = parse_target(request_line)
    if target is None or not allowed(target[1]):
        what = f"{target[0]} {target[1]}:{target[2]}" if target else request_line[:80]
        log(f"refused {what}")
        client_writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await client_writer.drain()
        client_writer.close()
        return
    method, host, port = target
    try:
        upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    except (OSError, asyncio.TimeoutError) as error:
        log(f"failed  {method} {host}:{port} ({error})")
        client_writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await client_writer.drain()
        client_writer.close()
        return
    if method == "CONNECT":
        client_writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await client_writer.drain()
    else:
        # HTTP/1.1 origins accept the absolute form, so the request goes on as it came.
        upstream_writer.write(head)
    counter = [0, 0]
    await asyncio.gather(
        pipe(client_reader, upstream_writer, counter, 0),
        pipe(upstream_reader, client_writer, counter, 1),
    )
    log(f"allowed {method} {host}:{port} sent={counter[0]} received={counter[1]} "
        f"secs={time.monotonic() - started:.1f}")


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--unix", required=True, help="path of the listening UNIX socket")
    parser.add_argument("--log", required=True, help="file to append connection lines to")
    args = parser.parse_args()
    log_file = open(args.log, "a", buffering=1)

    def log(line):
        log_file.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    server = await asyncio.start_unix_server(lambda r, w: serve(r, w, log), path=args.unix)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
