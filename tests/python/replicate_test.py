"""Calls DE's Replicate-compatible API with Replicate's official Python client,
only its base_url changed. Run by the e2e test `replicate_compat::` with a
live DE (which made `--listed` jobs first, so the list spans pages); prints one
JSON line (what the checks made) and exits non-zero with the failed check's
message.

Checks: `run` for a text model (the output text) and an image model (the
output links, downloaded); `run` whose wait runs out comes back `starting` and
the client follows it to the end; a created prediction read, waited for, with
metrics; a slow one canceled; the list across pages with absolute `next`
links; the default webhook secret; a prediction with a webhook (start and
completed, each verified with the client's own check against that secret, a
changed body failing it); an unknown webhook event and an unknown model as the
client's errors.
"""

import argparse
import http.server
import json
import sys
import threading
import time
import urllib.request

import replicate
from replicate.exceptions import ReplicateError
from replicate.webhook import InvalidSignatureError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--listed", type=int, required=True)
    args = parser.parse_args()
    client = replicate.Client(api_token=args.key, base_url=args.url.rstrip("/") + "/replicate")
    client.poll_interval = 0.1

    text = client.run("openai/gpt-4o-mini", input={"prompt": "Write a haiku about electrons"})
    assert isinstance(text, str) and "electrons" in text, text
    claude = client.run("de/claude-3.5-haiku", input={"prompt": "Say hi to the electrons", "max_tokens": 32})
    assert "electrons" in claude, claude

    images = client.run("openai/dall-e-3", input={"prompt": "a lighthouse at dusk"}, use_file_output=False)
    assert isinstance(images, list) and len(images) == 1, images
    with urllib.request.urlopen(images[0]) as fetched:
        assert fetched.read()[:8] == b"\x89PNG\r\n\x1a\n"

    # A blocking run whose wait runs out: `starting`, then followed to the end.
    slow = client.run("openai/gpt-4o-mini", input={"prompt": "slowly, electrons [[sim:latency=2500]]"}, wait=1)
    assert "electrons" in slow, slow

    prediction = client.predictions.create(version="anthropic/claude-3.5-haiku", input={"prompt": "count electrons"})
    assert prediction.status in ("starting", "processing", "succeeded"), prediction.status
    assert prediction.urls["get"].startswith(args.url), prediction.urls
    prediction.wait()
    assert prediction.status == "succeeded" and "electrons" in prediction.output, prediction
    again = client.predictions.get(prediction.id)
    assert again.model == "anthropic/claude-3.5-haiku", again.model
    assert again.metrics["predict_time"] >= 0 and again.metrics["total_time"] > 0, again.metrics

    # Canceled while it runs.
    stuck = client.models.predictions.create(model="openai/gpt-4o-mini", input={"prompt": "never mind [[sim:latency=20000]]"})
    stuck.cancel()
    stuck.reload()
    assert stuck.status == "canceled", stuck.status

    # The list: newest first, across pages, `next` an absolute link to DE.
    first = client.predictions.list()
    assert len(first.results) == 100, len(first.results)
    assert first.next and first.next.startswith(args.url + "/replicate/v1/predictions?cursor="), first.next
    second = client.predictions.list(first.next)
    seen = [p.id for p in first.results] + [p.id for p in second.results]
    assert len(seen) == len(set(seen)), "no prediction twice"
    total = args.listed + 6
    assert len(seen) == total and second.next is None, (len(seen), total, second.next)

    secret = client.webhooks.default.secret()
    assert secret.key.startswith("whsec_"), secret

    # A webhook: the prediction as it starts and as it ends, each signed with
    # the default secret and verified with the client's own check.
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"])).decode()
            received.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hooked = client.predictions.create(
        version="openai/gpt-4o-mini",
        input={"prompt": "tell the electrons [[sim:latency=300]]"},
        webhook=f"http://127.0.0.1:{server.server_address[1]}/hook",
        webhook_events_filter=["start", "completed"],
    )
    deadline = time.time() + 30
    while time.time() < deadline and not any('"succeeded"' in body for _, body in received):
        time.sleep(0.1)
    server.shutdown()
    told = [json.loads(body) for _, body in received]
    assert [p["status"] for p in told] == ["processing", "succeeded"], told
    assert all(p["id"] == hooked.id for p in told), told
    assert "electrons" in told[-1]["output"] and told[-1]["urls"]["get"].startswith(args.url), told[-1]
    for headers, body in received:
        client.webhooks.validate(headers=headers, body=body, secret=secret)
    try:
        client.webhooks.validate(headers=received[-1][0], body=received[-1][1].replace("electrons", "protons"), secret=secret)
    except InvalidSignatureError:
        pass
    else:
        raise AssertionError("a changed body fails the signature")
    try:
        client.predictions.create(version="openai/gpt-4o-mini", input={"prompt": "x"}, webhook="http://127.0.0.1:9/", webhook_events_filter=["sometimes"])
    except ReplicateError as error:
        assert error.status == 422 and "sometimes" in (error.detail or ""), error
    else:
        raise AssertionError("an unknown webhook event is refused")

    try:
        client.run("openai/no-such-model", input={"prompt": "x"})
    except ReplicateError as error:
        assert error.status == 404 and "no-such-model" in (error.detail or ""), error
    else:
        raise AssertionError("an unknown model is refused")

    print(json.dumps({"canceled": stuck.id, "waited": prediction.id, "hooked": hooked.id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
