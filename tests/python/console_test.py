"""Drives DE's web console in headless Chromium (Debian's, by executable path:
no browser download) and saves screenshots of every main page at a laptop and
a phone size. Run by the e2e test `console::` with a live DE; exits non-zero
with the failed check's message.

Checks: a wrong key is refused with a readable message; sign-in with a project
key; the overview redraws itself live; the playground submits a text and an
image job and each is followed to success with its output shown; a job sent
with a webhook shows its delivery and can be redelivered; the jobs list
filters; a key is created (shown once) and revoked; a form without the CSRF
token is refused; the operator changes a rate limit and sees it applied, and
reads the admin lists (models, providers with their keys masked, the audit log).
The project key's webhooks page shows the signing secret masked and rotates it.
The operator reads every project's jobs and filters them by project, then administers through the console: an organization, an
instance, its credential (masked, never drawn back), its budget, a user and
their role there, a project and its budget, a provider of kind http and a model
of it whose dry run shows the request with the key masked; a bad id and bad
JSON are refused with the field marked and nothing made; a credential is
removed. A project key is told it cannot read the fleet's admin pages, and a
user with the viewer role sees their instance but is refused a change to it.
"""

import argparse
import json
import os
import re
import sys

from playwright.sync_api import expect, sync_playwright

SIZES = [(1366, 768), (390, 844)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--webhook-job", required=True)
    parser.add_argument("--viewer-token", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    base = args.url.rstrip("/")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        def shot(name: str) -> None:
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(150)
                page.screenshot(path=f"{args.out}/{name}-{width}x{height}.png", full_page=True)
            page.set_viewport_size({"width": 1366, "height": 768})

        # Signing in: a wrong key first.
        page.goto(f"{base}/console/overview")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        page.fill("#key", "de_live_not_a_real_key")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_contain_text("was not accepted")
        shot("sign-in")
        problems.clear()  # the refusal's own 401
        page.fill("#key", args.key)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/overview$"))
        cookies = context.cookies()
        session = [c for c in cookies if c["name"] == "de_console"]
        assert session and session[0]["httpOnly"], f"the session cookie is HttpOnly: {cookies}"
        assert page.evaluate("document.cookie").find("de_console") < 0, "scripts cannot read the session"
        assert page.evaluate("JSON.stringify(window.localStorage)") == "{}", "nothing in localStorage"

        # The text job, from the playground.
        page.goto(f"{base}/console/playground")
        page.select_option("#model", "gpt-4o-mini")
        expect(page.locator("#fields")).to_have_attribute("data-model", "gpt-4o-mini")
        page.fill("#f-prompt", "write a haiku about electrons")
        page.fill("#f-max_tokens", "64")
        page.click("#copy-curl")
        curl = page.locator("#curl").inner_text()
        assert "$DE_API_KEY" in curl and args.key not in curl, curl
        assert '"max_tokens":64' in curl, curl
        shot("playground")
        page.click("button:has-text('Submit job')")
        expect(page).to_have_url(re.compile(r"/console/jobs/job_[0-9a-f]{32}$"))
        expect(page.locator(".job-head .status")).to_have_text("succeeded", timeout=30_000)
        expect(page.locator(".text-output")).to_contain_text("haiku about electrons")
        expect(page.locator(".timeline")).to_contain_text("Provider call")
        shot("job-text")

        # The image job.
        page.goto(f"{base}/console/playground?model=dall-e-3")
        expect(page.locator("#fields")).to_have_attribute("data-model", "dall-e-3")
        page.fill("#f-prompt", "a lighthouse at dusk")
        page.select_option("#f-size", "1024x1024")
        page.click("button:has-text('Submit job')")
        expect(page.locator(".job-head .status")).to_have_text("succeeded", timeout=30_000)
        image = page.locator(".output img").first
        expect(image).to_be_visible()
        page.wait_for_function("() => { const i = document.querySelector('.output img'); return i && i.complete && i.naturalWidth > 0; }")
        shot("job-image")

        # A job with a webhook: its delivery, and a redelivery.
        page.goto(f"{base}/console/jobs/{args.webhook_job}")
        expect(page.locator(".delivery .status").first).to_have_text("delivered", timeout=30_000)
        expect(page.locator(".delivery table tbody td:nth-child(3)").first).to_have_text(re.compile(r"^2\d\d$"))
        page.click(".delivery button:has-text('Redeliver')")
        expect(page.locator(".notice")).to_contain_text("Redelivery scheduled")
        shot("job-webhook")

        # The overview, redrawn live.
        page.goto(f"{base}/console/overview")
        expect(page.locator(".tiles .tile").first).to_be_visible()
        first = page.locator("#stats .muted.small").last.inner_text()
        page.wait_for_function(
            "(before) => { const u = [...document.querySelectorAll('#stats .muted.small')].pop(); return u && u.innerText !== before; }",
            arg=first,
            timeout=15_000,
        )
        expect(page.locator(".tiles")).to_contain_text("Succeeded")
        expect(page.locator("#throughput canvas")).to_have_count(1)
        shot("overview")

        # The jobs list and its filters.
        page.goto(f"{base}/console/jobs")
        expect(page.locator("table.jobs tbody tr")).to_have_count(3)
        page.select_option("select[name=status]", "succeeded")
        page.fill("input[name=model]", "dall-e-3")
        page.click("button:has-text('Filter')")
        expect(page.locator("table.jobs tbody tr")).to_have_count(1)
        shot("jobs")
        page.goto(f"{base}/console/jobs?model=no-such-model")
        expect(page.locator(".empty")).to_contain_text("No jobs match")

        # Keys: created (shown once), then revoked.
        page.goto(f"{base}/console/keys")
        page.fill("input[name=name]", "made in the console")
        page.check("input[value='jobs:read']")
        page.click("button:has-text('Create key')")
        secret = page.locator("#new-key").inner_text().strip()
        assert secret.startswith("de_"), secret
        shot("keys-created")
        page.reload()
        assert page.locator("#new-key").count() == 0 and secret not in page.content(), "the key is shown once"
        expect(page.locator("tr", has_text="made in the console")).to_have_count(1)
        row = page.locator("tr", has_text="made in the console")
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button:has-text('Revoke')").click()
        expect(page.locator("tr", has_text="made in the console")).to_contain_text("revoked")
        shot("keys")

        # A change without the form's token is refused, and changes nothing.
        refused = page.request.post(f"{base}/console/keys", form={"name": "forged"})
        assert refused.status == 403, refused.status
        page.reload()
        assert page.locator("tr", has_text="forged").count() == 0

        # Webhooks: the signing secret, masked until asked for, and rotated.
        page.goto(f"{base}/console/webhooks")
        expect(page.locator("main table").first).to_contain_text("current")
        shown = page.locator(".secret-value").first
        assert not shown.is_visible(), "the secret is hidden until shown"
        page.locator("main table").first.locator("summary").first.click()
        expect(shown).to_be_visible()
        assert shown.inner_text().startswith("whsec_"), shown.inner_text()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('Rotate secret')")
        expect(page.locator("main table").first.locator("tbody tr")).to_have_count(2)
        expect(page.locator("main table").first).to_contain_text("UTC")
        expect(page.locator(".empty")).to_contain_text("Every webhook URL is receiving")
        shot("webhooks")

        # The fleet's admin pages are not a project key's.
        page.goto(f"{base}/console/admin/organizations")
        expect(page.locator(".error")).to_contain_text("cannot read it")

        # The operator changes a rate limit.
        page.click("button:has-text('Sign out')")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        page.fill("#key", args.admin_token)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/rate-limits$"))
        limit = page.locator("section.limit").first
        limit.locator("input[name=requests_per_interval]").fill("777")
        limit.locator("button:has-text('Save')").click()
        expect(page.locator(".notice")).to_contain_text("Saved")
        expect(page.locator("section.limit").first.locator("input[name=requests_per_interval]")).to_have_value("777")
        shot("rate-limits")

        # The operator's jobs span projects, and filter by one.
        page.goto(f"{base}/console/jobs")
        expect(page.locator("table.jobs thead")).to_contain_text("Project")
        expect(page.locator("table.jobs tbody tr")).to_have_count(3)
        project = page.locator("table.jobs tbody tr").first.locator("td:nth-child(2) a").get_attribute("title")
        page.fill("input[name=project]", project)
        page.click("button:has-text('Filter')")
        expect(page.locator("table.jobs tbody tr")).to_have_count(3)
        shot("jobs-operator")
        page.fill("input[name=project]", "00000000-0000-7000-8000-000000000000")
        page.click("button:has-text('Filter')")
        expect(page.locator(".empty")).to_contain_text("No jobs match")
        page.goto(f"{base}/console/jobs")
        page.locator("table.jobs tbody tr").first.locator("td:first-child a").click()
        expect(page.locator(".job-head .status")).to_have_text("succeeded")

        # The admin lists: models, providers (keys masked), the audit log.
        page.goto(f"{base}/console/admin/models")
        expect(page.locator("main table")).to_contain_text("gpt-4o-mini")
        shot("admin-models")
        page.goto(f"{base}/console/admin/providers")
        expect(page.locator("main table")).to_contain_text("openai")
        assert "sim-key" not in page.content(), "provider keys are masked"
        page.goto(f"{base}/console/admin/audit")
        expect(page.locator("main table")).to_contain_text("rate_limit.put")
        shot("admin-audit")

        def save_new(section: str, fields: dict, query: str = "") -> None:
            page.goto(f"{base}/console/admin/{section}/new{query}")
            for name, value in fields.items():
                field = page.locator(f".admin-form [name={name}]")
                if field.evaluate("e => e.tagName") == "SELECT":
                    field.select_option(value)
                else:
                    field.fill(value)
            page.click(".admin-form button[type=submit]:not([formaction])")
            expect(page.locator(".notice")).to_contain_text("Saved")

        # A bad id is refused with the field marked, and nothing is made.
        page.goto(f"{base}/console/admin/organizations/new")
        page.fill(".admin-form [name=id]", "Not an id!")
        page.fill(".admin-form [name=name]", "Refused Ltd")
        page.click(".admin-form button[type=submit]")
        expect(page.locator(".error")).to_be_visible()
        expect(page.locator(".field.invalid [name=id]")).to_have_count(1)
        expect(page.locator(".admin-form [name=name]")).to_have_value("Refused Ltd")
        shot("admin-refused")

        # Tenants: an organization, an instance in it, its credential and budget.
        save_new("organizations", {"id": "acme", "name": "Acme Inc"})
        expect(page.locator("main table")).to_contain_text("Acme Inc")
        assert "Refused Ltd" not in page.content()
        save_new("instances", {"id": "acme-prod", "organization": "acme", "name": "Acme production"})
        row = page.locator("tr", has_text="acme-prod")
        expect(row).to_contain_text("Acme production")
        shot("admin-instances")
        row.locator("a:has-text('credentials')").click()
        expect(page).to_have_url(re.compile(r"/console/admin/credentials\?instance=acme-prod$"))
        save_new("credentials", {"provider": "openai", "api_key": "sk-console-typed-key-4321"}, "?instance=acme-prod")
        expect(page.locator("tr", has_text="openai")).to_contain_text("4321")
        assert "sk-console-typed-key-4321" not in page.content(), "the credential is masked"
        page.goto(f"{base}/console/admin/credentials/edit?id=openai&instance=acme-prod")
        expect(page.locator(".admin-form [name=provider]")).to_have_attribute("readonly", "")
        expect(page.locator(".admin-form [name=api_key]")).to_have_value("")
        save_new("credentials", {"provider": "anthropic", "api_key": "sk-ant-console-8765"}, "?instance=acme-prod")
        shot("admin-credentials")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("tr", has_text="anthropic").locator("button:has-text('Remove')").click()
        expect(page.locator(".notice")).to_contain_text("Removed credential anthropic")
        save_new("instance-budget", {"monthly_usd": "50"}, "?instance=acme-prod")
        expect(page.locator("main table")).to_contain_text("50")

        # A user, their role in the instance, a project there and its budget.
        save_new("users", {"email": "ada@example.com", "name": "Ada"})
        user_id = page.locator("tr", has_text="ada@example.com").locator("td").first.inner_text().strip()
        save_new("members", {"user": user_id, "role": "admin"}, "?instance=acme-prod")
        expect(page.locator("tr", has_text="ada@example.com")).to_contain_text("admin")
        save_new("projects", {"name": "acme web", "instance": "acme-prod"})
        project_id = page.locator("tr", has_text="acme web").locator("td").first.inner_text().strip()
        save_new("budgets", {"project_id": project_id, "monthly_usd": "25"})
        expect(page.locator("tr", has_text=project_id)).to_contain_text("25")

        # A provider of kind http and a model of it, tried with the dry run.
        save_new("providers", {"id": "forge", "kind": "http", "base_url": "http://127.0.0.1:9/forge/v1",
                                "api_key": "forge-console-secret-9z9z", "timeout_ms": "5000"})
        assert "forge-console-secret-9z9z" not in page.content(), "the provider key is masked"
        page.goto(f"{base}/console/admin/models/new")
        page.fill(".admin-form [name=id]", "forge-console")
        page.fill(".admin-form [name=body]", "{ not json")
        page.click(".admin-form button[type=submit]")
        expect(page.locator(".error")).to_contain_text("not valid JSON")
        expect(page.locator(".field.invalid [name=body]")).to_have_count(1)
        mapping = {
            "request": {"method": "POST", "path": "/generate",
                        "headers": {"Authorization": "Token {{api_key}}"},
                        "body": {"model": "{{model}}", "input": {"prompt": "{{prompt}}"},
                                 "parameters": {"max_new_tokens": "{{max_tokens}}"}}},
            "response": {"output": "/output/0/text", "input_tokens": "/usage/prompt_tokens",
                         "output_tokens": "/usage/generated_tokens"},
        }
        config = {"modality": "text", "provider": "forge", "provider_model": "forge-small", "http_mapping": mapping}
        page.fill(".admin-form [name=body]", json.dumps(config, indent=2))
        page.click(".admin-form button[type=submit]")
        expect(page.locator(".notice")).to_contain_text("Saved model forge-console")
        page.locator("tr", has_text="forge-console").locator("a:has-text('edit')").click()
        expect(page.locator(".admin-form [name=id]")).to_have_attribute("readonly", "")
        expect(page.locator(".admin-form [name=body]")).to_contain_text("http_mapping")
        page.fill(".dry-run [name=input]", '{"prompt": "dry run from the console", "max_tokens": 32}')
        page.click("button:has-text('Dry run')")
        result = page.locator(".dry-run-result")
        expect(result).to_contain_text("http://127.0.0.1:9/forge/v1/generate")
        expect(result).to_contain_text("dry run from the console")
        expect(result).to_contain_text("9z9z")
        assert "forge-console-secret-9z9z" not in page.content(), "the dry run masks the key"
        shot("admin-dry-run")

        # A user with the viewer role sees their instance but may not change it.
        page.click("button:has-text('Sign out')")
        page.fill("#key", args.viewer_token)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/admin/instances$"))
        expect(page.locator("main table")).to_contain_text("default")
        assert page.locator("main table").inner_text().find("acme-prod") < 0, "only the user's instances"
        page.goto(f"{base}/console/admin")
        expect(page).to_have_url(re.compile(r"/console/admin/instances$"))
        page.goto(f"{base}/console/admin/models")
        expect(page.locator(".error")).to_contain_text("Models can be read with the operator's token")
        page.goto(f"{base}/console/admin/instance-budget/new?instance=default")
        page.fill(".admin-form [name=monthly_usd]", "1")
        page.click(".admin-form button[type=submit]")
        expect(page.locator(".error")).to_contain_text("owner")

        browser.close()
        if problems:
            print("the browser reported errors:", *problems, sep="\n  ", file=sys.stderr)
            return 1
    print("console checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
