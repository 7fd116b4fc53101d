"""Calls DE's OpenAI-compatible API with OpenAI's official Python client, only
its base_url changed. Run by the e2e test `openai_compat::` with a live DE;
prints one JSON line (the jobs the calls made) and exits non-zero with the
failed check's message.

Checks: the models list and one model; a chat completion on an OpenAI and on
an Anthropic model (system turn, usage, finish reason), and the same streamed
(chunks, the same text, usage in the last chunk), parsed into a pydantic
model (response_format json_schema), and calling a tool whose answer goes back
(plain, streamed, forced); text content parts; a
repeated Idempotency-Key answers the same job; images from OpenAI's and
Ideogram's models as a link the client downloads and inline as base64; speech
as audio bytes; an unknown model, a bad key, a parameter DE does not serve yet,
an unknown one and OpenAI's voice names are refused as the client's own error
types, with OpenAI's code and param.
"""

import argparse

import base64
import json
import sys
import urllib.request

import openai
import pydantic
from openai import OpenAI


def refused(call, kind, code, param):
    try:
        call()
    except kind as error:
        body = error.body or {}
        assert error.code == code, (error.code, body)
        assert error.param == param, (error.param, body)
        assert isinstance(body.get("message"), str) and body["message"], body
        return error
    raise AssertionError(f"expected {kind.__name__} ({code})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--openai-model", default="gpt-4o-mini")
    parser.add_argument("--anthropic-model", default="claude-3.5-haiku")
    args = parser.parse_args()
    base_url = args.url.rstrip("/") + "/openai/v1"
    # No retries: a check must see DE's first answer.
    client = OpenAI(base_url=base_url, api_key=args.key, max_retries=0)
    jobs = []

    ids = [model.id for model in client.models.list()]
    assert args.openai_model in ids and args.anthropic_model in ids, ids
    model = client.models.retrieve(args.anthropic_model)
    assert model.object == "model" and model.owned_by, model

    haiku = dict(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Write a haiku about electrons"},
        ],
        max_completion_tokens=64,
        temperature=0.2,
    )
    answers = {}
    for name in (args.openai_model, args.anthropic_model):
        completion = client.chat.completions.create(model=name, **haiku)
        assert completion.object == "chat.completion", completion
        assert completion.model == name, completion
        choice = completion.choices[0]
        assert choice.message.role == "assistant", choice
        assert "electrons" in choice.message.content, choice.message.content
        assert choice.finish_reason in ("stop", "length"), choice
        usage = completion.usage
        assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, usage
        answers[name] = choice.message.content
        jobs.append(completion.id.removeprefix("chatcmpl-"))

    parts = client.chat.completions.create(
        model=args.openai_model,
        messages=[{"role": "user", "content": [{"type": "text", "text": "first part, "}, {"type": "text", "text": "second part"}]}],
    )
    assert "first part, second part" in parts.choices[0].message.content, parts
    jobs.append(parts.id.removeprefix("chatcmpl-"))

    # The same Idempotency-Key answers the same job.
    once = dict(model=args.openai_model, messages=[{"role": "user", "content": "only once"}])
    first = client.chat.completions.with_raw_response.create(**once, extra_headers={"Idempotency-Key": "chat-once-1"})
    again = client.chat.completions.with_raw_response.create(**once, extra_headers={"Idempotency-Key": "chat-once-1"})
    assert first.parse().id == again.parse().id, (first.parse().id, again.parse().id)
    assert again.headers.get("idempotent-replayed") == "true", dict(again.headers)
    assert first.headers.get("x-de-job-id") == first.parse().id.removeprefix("chatcmpl-")
    jobs.append(first.parse().id.removeprefix("chatcmpl-"))

    # Images: links to DE's store, or inline; from OpenAI's model and Ideogram's.
    images = client.images.generate(model="dall-e-3", prompt="a lighthouse at dusk", size="1024x1024")
    assert len(images.data) == 1 and images.data[0].url.startswith("http"), images
    with urllib.request.urlopen(images.data[0].url) as fetched:
        png = fetched.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:16]
    inline = client.images.generate(model="ideogram-v2", prompt="a lighthouse at dawn", n=2, response_format="b64_json")
    assert len(inline.data) == 2, inline
    assert all(base64.b64decode(image.b64_json)[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"RIFF") for image in inline.data), [image.b64_json[:16] for image in inline.data]

    # Speech: the audio itself.
    speech = client.audio.speech.create(model="multilingual-v2", input="Hello from DE", voice="21m00Tcm4TlvDq8ikWAM")
    audio = speech.read()
    assert len(audio) > 100, len(audio)
    assert speech.response.headers["content-type"].startswith("audio/"), speech.response.headers
    refused(
        lambda: client.audio.speech.create(model="multilingual-v2", input="Hi", voice="alloy"),
        openai.BadRequestError, "unsupported_value", "voice",
    )

    message = [{"role": "user", "content": "hello"}]
    refused(
        lambda: client.chat.completions.create(model="no-such-model", messages=message),
        openai.BadRequestError, "unknown_model", "model",
    )
    wrong = OpenAI(base_url=base_url, api_key="de_live_not_a_real_key", max_retries=0)
    refused(lambda: wrong.models.list(), openai.AuthenticationError, "unauthorized", None)
    refused(
        lambda: client.chat.completions.create(
            model=args.openai_model,
            messages=message,
            tools=[{"type": "function", "function": {"name": "a tool", "parameters": {"type": "object"}}}],
        ),
        openai.BadRequestError, "invalid_field", "tools[0].function.name",
    )
    refused(
        lambda: client.chat.completions.create(model=args.openai_model, messages=message, extra_body={"frobnicate": 1}),
        openai.BadRequestError, "unknown_parameter", "frobnicate",
    )
    refused(
        lambda: client.chat.completions.create(model=args.openai_model, messages=[{"role": "user", "content": " "}]),
        openai.BadRequestError, "invalid_field", "messages[0].content",
    )
    refused(
        lambda: client.models.retrieve("no-such-model"),
        openai.NotFoundError, "model_not_found", "model",
    )

    # Streaming: chunks as OpenAI sends them, the same text as without, the
    # usage in a last chunk without choices when asked for.
    for name in (args.openai_model, args.anthropic_model):
        stream = client.chat.completions.create(
            model=name, **haiku, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
        assert all(chunk.object == "chat.completion.chunk" for chunk in chunks), chunks
        assert len({chunk.id for chunk in chunks}) == 1, chunks
        assert chunks[0].choices[0].delta.role == "assistant", chunks[0]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == answers[name], (text, answers[name])
        pieces = [c for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(pieces) > 1, f"the text came in one piece: {pieces}"
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finishes in (["stop"], ["length"]), finishes
        last = chunks[-1]
        assert last.choices == [] and last.usage is not None, last
        assert last.usage.completion_tokens > 0 and last.usage.prompt_tokens > 0, last.usage
        assert all(c.usage is None for c in chunks[:-1]), chunks
        jobs.append(last.id.removeprefix("chatcmpl-"))
    plain = client.chat.completions.create(model=args.openai_model, messages=message, stream=True)
    plain_chunks = list(plain)
    assert all(c.usage is None for c in plain_chunks), plain_chunks
    assert plain_chunks[-1].choices[0].finish_reason == "stop", plain_chunks[-1]
    assert "hello" in "".join(c.choices[0].delta.content or "" for c in plain_chunks)
    refused(
        lambda: client.chat.completions.create(model=args.openai_model, messages=message, stream_options={"include_usage": True}),
        openai.BadRequestError, "invalid_value", "stream_options",
    )
    # A refusal before the stream begins is an ordinary error answer.
    refused(
        lambda: client.chat.completions.create(model="no-such-model", messages=message, stream=True),
        openai.BadRequestError, "unknown_model", "model",
    )

    # Tools: the model calls one, the tool's answer goes back, the model speaks
    # of it; streamed, the call comes as chunks the client puts together.
    weather = [{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Today's weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }]
    asked = {"role": "user", "content": "What is the weather in Paris?"}
    for name in (args.openai_model, args.anthropic_model):
        first = client.chat.completions.create(model=name, messages=[asked], tools=weather)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls", choice
        call = choice.message.tool_calls[0]
        assert call.type == "function" and call.function.name == "get_weather" and call.id, call
        assert "city" in json.loads(call.function.arguments), call.function.arguments
        answered = [asked, choice.message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"}]
        second = client.chat.completions.create(model=name, messages=answered, tools=weather)
        assert second.choices[0].finish_reason == "stop", second
        assert "18 C and sunny" in second.choices[0].message.content, second
        streamed = list(client.chat.completions.create(model=name, messages=[asked], tools=weather, stream=True))
        pieces = [tc for c in streamed if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
        assert pieces and pieces[0].function.name == "get_weather" and pieces[0].id, streamed
        assert [c.choices[0].finish_reason for c in streamed if c.choices and c.choices[0].finish_reason] == ["tool_calls"], streamed
        jobs.extend(c.id.removeprefix("chatcmpl-") for c in (first, second))
    forced = client.chat.completions.create(
        model=args.openai_model,
        messages=[{"role": "user", "content": "Hello"}],
        tools=weather,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert forced.choices[0].message.tool_calls[0].function.name == "get_weather", forced
    refused(
        lambda: client.chat.completions.create(
            model=args.openai_model, messages=[asked], tools=weather,
            tool_choice={"type": "function", "function": {"name": "no_such_tool"}},
        ),
        openai.BadRequestError, "invalid_field", "tool_choice.function.name",
    )

    # Structured output: the client's own parse() with a pydantic model (a
    # strict json_schema), on both models; a bad schema is refused by field.
    class City(pydantic.BaseModel):
        name: str
        population: int

    for name in (args.openai_model, args.anthropic_model):
        parsed = client.chat.completions.parse(
            model=name,
            messages=[{"role": "user", "content": "Name a city"}],
            response_format=City,
        )
        city = parsed.choices[0].message.parsed
        assert isinstance(city, City) and city.name, parsed
        jobs.append(parsed.id.removeprefix("chatcmpl-"))
    refused(
        lambda: client.chat.completions.create(
            model=args.openai_model,
            messages=message,
            response_format={"type": "json_schema", "json_schema": {"name": "a city", "schema": {"type": "object"}}},
        ),
        openai.BadRequestError, "invalid_field", "response_format.json_schema.name",
    )

    print(json.dumps({"jobs": jobs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
