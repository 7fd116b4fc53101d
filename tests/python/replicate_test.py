"""Calls DE's Replicate-compatible API with Replicate's official Python client,
only its base_url changed. Run by the e2e test `replicate_compat::` with a
live DE (which made `--listed` jobs first, so the list spans pages); prints one
JSON line (what the checks made) and exits non-zero with the failed check's
message.

Checks: `run` for a text model (the output text) and an image model (the
output links, downloaded); `run` whose wait runs out comes back `starting` and
the client follows it to the end; a created prediction read, waited for, with
metrics; a slow one canceled; the list across pages with absolute `next`
links; the default webhook secret; an unknown model as the client's error.
"""

import argparse
import json
import sys
import urllib.request

import replicate
from replicate.exceptions import ReplicateError


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

    try:
        client.run("openai/no-such-model", input={"prompt": "x"})
    except ReplicateError as error:
        assert error.status == 404 and "no-such-model" in (error.detail or ""), error
    else:
        raise AssertionError("an unknown model is refused")

    print(json.dumps({"canceled": stuck.id, "waited": prediction.id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
