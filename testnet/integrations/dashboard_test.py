#!/usr/bin/env python3
"""The auditor dashboard in a real browser: Debian's Chromium driven by Playwright.

Driven by node/tests/dashboard.rs, which starts a consortium, records consents, accesses
and break-glass accesses, writes the keystores and runs:

    python dashboard_test.py --url http://127.0.0.1:PORT --passphrase PASS \
        --auditor A.keystore --officer O.keystore --staff S.keystore \
        --patient HEX --emergency-patient HEX --custodian hospital-0 \
        --screenshots DIR

--auditor: a health authority's auditor (reads every organisation);
--officer: the custodian's own auditor (its privacy officer: closes its reviews);
--staff:   a staff member of another hospital (refused the custodian's audit trail).

Covers sign-in, a wrong passphrase, every view, the exports, closing an open review
and a refused read; saves a screenshot of each view into --screenshots. Every wait is
bounded (Playwright's expect with a timeout), never a fixed sleep. Exit status 0 on
success; an assertion names what failed.
"""

import argparse
import csv
import io
import json
import os
import pathlib
import subprocess
import sys

from playwright.sync_api import expect, sync_playwright

TIMEOUT_MS = 60_000
REPO = pathlib.Path(__file__).resolve().parents[2]
ASSETS = REPO / "node" / "assets" / "dashboard"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the node's API base URL")
    parser.add_argument("--passphrase", required=True)
    parser.add_argument("--auditor", required=True, help="keystore of a health authority's auditor")
    parser.add_argument("--officer", required=True, help="keystore of the custodian's auditor")
    parser.add_argument("--staff", required=True, help="keystore of another hospital's staff member")
    parser.add_argument("--patient", required=True, help="a patient with consents (amended) and a permitted access")
    parser.add_argument("--emergency-patient", required=True, help="a patient with two break-glass accesses")
    parser.add_argument("--custodian", required=True, help="the organisation holding the open reviews")
    parser.add_argument("--screenshots", required=True, help="folder for one PNG per view")
    parser.add_argument("--chromium", default=os.environ.get("PANACEA_CHROMIUM", "/usr/bin/chromium"))
    return parser.parse_args()


def check_vector_in_node():
    """The JavaScript encoder against the vector node/src/api/dashboard.rs pins, in node."""
    script = ASSETS / "test" / "close-review-vector.mjs"
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"node {script} failed:\n{result.stdout}{result.stderr}"
    print(result.stdout.strip())


def check_vector_in_browser(page):
    """The same vector through the modules the node serves, in Chromium's WebCrypto."""
    vector = json.loads((ASSETS / "test" / "close-review-vector.json").read_text())
    got = page.evaluate(
        """async (v) => {
            const { fromHex } = await import('./js/bytes.js');
            const { importSeed, sign } = await import('./js/keystore.js');
            const { signCloseReview } = await import('./js/tx.js');
            const { key, publicKey } = await importSeed(fromHex(v.seed, 32));
            const s = await signCloseReview({ chainId: v.chain_id, signer: publicKey, nonce: v.nonce,
                decision: v.decision, outcome: v.outcome, notes: v.notes }, (b) => sign(key, b));
            return { public_key: publicKey, signing_hash: s.signingHash, signed_transaction: s.hex, id: s.id };
        }""",
        vector,
    )
    for field, value in got.items():
        assert value == vector[field], f"in the browser, {field}: expected {vector[field]}, got {value}"
    print("close-review vector: the browser agrees")


class Dashboard:
    def __init__(self, page, args):
        self.page = page
        self.args = args
        self.shots = pathlib.Path(args.screenshots)
        self.shots.mkdir(parents=True, exist_ok=True)

    def shot(self, name):
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot {path}")

    def open(self):
        response = self.page.goto(f"{self.args.url}/dashboard/")
        assert response.status == 200, f"/dashboard/ answered {response.status}"
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "unsafe" not in policy, f"CSP: {policy!r}"
        assert headers.get("x-content-type-options") == "nosniff"
        expect(self.page.locator("#signin")).to_be_visible(timeout=TIMEOUT_MS)

    def sign_in(self, keystore, passphrase):
        page = self.page
        page.set_input_files("#keystore", keystore)
        page.fill("#passphrase", passphrase)
        page.click("#unlock")

    def signed_in(self, keystore):
        self.sign_in(keystore, self.args.passphrase)
        expect(self.page.locator("#view-health")).to_be_visible(timeout=TIMEOUT_MS)
        expect(self.page.locator("#whoami")).to_contain_text("key", timeout=TIMEOUT_MS)

    def sign_out(self):
        self.page.click("#signout")
        expect(self.page.locator("#signin")).to_be_visible(timeout=TIMEOUT_MS)
        # Nothing of the key survives the page: no storage is used at all.
        stored = self.page.evaluate("() => localStorage.length + sessionStorage.length + document.cookie.length")
        assert stored == 0, "the dashboard stored something"

    def view(self, hash_route, section):
        self.page.evaluate("(h) => { location.hash = h; }", hash_route)
        expect(self.page.locator(f"#{section}")).to_be_visible(timeout=TIMEOUT_MS)
        expect(self.page.locator("#view")).to_have_attribute("aria-busy", "false", timeout=TIMEOUT_MS)

    def rows(self, table):
        return self.page.locator(f"#{table} tbody tr")


def run(args):
    check_vector_in_node()
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=["--no-sandbox"] if is_root else []
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        # A Content-Security-Policy violation or a script error fails the test.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        ui = Dashboard(page, args)
        ui.open()
        check_vector_in_browser(page)

        # A wrong passphrase is refused in the browser, clearly.
        ui.sign_in(args.auditor, "not the passphrase at all")
        expect(page.locator("#signin-error")).to_contain_text("Wrong passphrase", timeout=TIMEOUT_MS)
        ui.shot("signin-wrong-passphrase")

        # The health authority's auditor: every view.
        ui.signed_in(args.auditor)
        expect(ui.rows("health-validators")).to_have_count(4, timeout=TIMEOUT_MS)
        expect(ui.rows("health-blocks").first).to_be_visible()
        ui.shot("health")

        ui.view("#/audit", "view-audit")
        expect(ui.rows("audit-table").first).to_be_visible(timeout=TIMEOUT_MS)
        page.select_option("#audit-kind", "break-glass")
        page.fill("#audit-patient", args.emergency_patient)
        page.click("#audit-search")
        expect(ui.rows("audit-table")).to_have_count(2, timeout=TIMEOUT_MS)
        for kind in page.locator("#audit-table tbody tr td:nth-child(3)").all_inner_texts():
            assert kind == "break-glass", f"the kind filter let {kind} through"
        ui.shot("audit")
        with page.expect_download(timeout=TIMEOUT_MS) as download:
            page.click("#export-csv")
        text = pathlib.Path(download.value.path()).read_text()
        table = list(csv.DictReader(io.StringIO(text)))
        assert len(table) == 2 and all(r["kind"] == "break-glass" for r in table), f"CSV export: {text}"
        assert all(r["patient"] == args.emergency_patient for r in table)
        expect(page.locator("#export-status")).to_contain_text("CSV: 2 events", timeout=TIMEOUT_MS)
        with page.expect_download(timeout=TIMEOUT_MS) as download:
            page.click("#export-fhir")
        bundle = json.loads(pathlib.Path(download.value.path()).read_text())
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection", bundle
        events = [e["resource"] for e in bundle["entry"]]
        assert len(events) == 2 and all(e["resourceType"] == "AuditEvent" for e in events), bundle
        assert all(e["subtype"][0]["code"] == "break-glass" for e in events), events
        expect(page.locator("#export-status")).to_contain_text("2 AuditEvent", timeout=TIMEOUT_MS)

        ui.view(f"#/accounting?patient={args.emergency_patient}", "view-accounting")
        expect(ui.rows("accounting-table")).to_have_count(2, timeout=TIMEOUT_MS)
        expect(page.locator("#accounting-table")).to_contain_text("break-glass")
        ui.shot("accounting")

        ui.view(f"#/consents?patient={args.patient}", "view-consents")
        consent = page.locator("#consents-list article.consent").first
        expect(consent).to_be_visible(timeout=TIMEOUT_MS)
        expect(consent.locator("tbody tr")).to_have_count(2, timeout=TIMEOUT_MS)
        ui.shot("consents")

        ui.view(f"#/reviews?org={args.custodian}", "view-reviews")
        expect(ui.rows("reviews-open-table")).to_have_count(2, timeout=TIMEOUT_MS)
        expect(page.locator("#reviews-closed")).to_contain_text("No closed review", timeout=TIMEOUT_MS)
        ui.shot("reviews-open")

        ui.view(f"#/risk?org={args.custodian}", "view-risk")
        expect(page.locator("#risk-summary dl")).to_be_visible(timeout=TIMEOUT_MS)
        ui.shot("risk")

        ui.view("#/governance", "view-governance")
        expect(ui.rows("governance-members")).to_have_count(5, timeout=TIMEOUT_MS)
        ui.shot("governance")
        ui.sign_out()

        # The custodian's own auditor closes a review from the dashboard.
        ui.signed_in(args.officer)
        ui.view(f"#/reviews?org={args.custodian}", "view-reviews")
        expect(ui.rows("reviews-open-table")).to_have_count(2, timeout=TIMEOUT_MS)
        first = ui.rows("reviews-open-table").first
        first.locator("select.outcome").select_option("justified")
        first.locator("input.notes").fill("Checked with the emergency department's lead on call.")
        first.locator("button.close-review").click()
        expect(page.locator("#reviews-message")).to_contain_text("Review closed as justified", timeout=TIMEOUT_MS)
        expect(ui.rows("reviews-open-table")).to_have_count(1, timeout=TIMEOUT_MS)
        expect(ui.rows("reviews-closed-table")).to_have_count(1, timeout=TIMEOUT_MS)
        expect(page.locator("#reviews-closed-table")).to_contain_text("justified")
        ui.shot("reviews-closed")
        ui.sign_out()

        # Another hospital's staff member reading the custodian's audit trail: refused,
        # and the page says so.
        ui.signed_in(args.staff)
        ui.view(f"#/audit?org={args.custodian}", "view-audit")
        refusal = page.locator("#audit-results .error[role=alert]")
        expect(refusal).to_contain_text("HTTP 403 forbidden", timeout=TIMEOUT_MS)
        ui.shot("refused")
        ui.view(f"#/reviews?org={args.custodian}", "view-reviews")
        expect(page.locator("#reviews-open .error[role=alert]")).to_contain_text("403", timeout=TIMEOUT_MS)
        ui.sign_out()
        browser.close()
    assert not problems, "the browser reported: " + "; ".join(problems)
    print("dashboard: every check passed")


if __name__ == "__main__":
    try:
        run(parse_args())
    except AssertionError as error:
        print(f"dashboard test failed: {error}", file=sys.stderr)
        sys.exit(1)
