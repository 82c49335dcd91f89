#!/usr/bin/env python3
"""The FHIR facade of a running Panacea node, read by clients nobody here wrote.

fhirclient (the SMART on FHIR Python client) reads and searches through a requests auth
hook that signs each request as docs/node.md, "Signed reads", says; every resource the
node returns is validated against the FHIR R4 (4.0.1) models of fhir.resources 6.5. A
consent is created through $prepare and a signed POST; errors come back as
OperationOutcomes.

Driven by node/tests/fhir.rs; exits non-zero with the failed check on stderr.
"""

import argparse
import hashlib
import json
import secrets
import sys
import time

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

from fhirclient import client as fhir_client
from fhirclient.models.consent import Consent as ClientConsent
from fhirclient.models.auditevent import AuditEvent as ClientAuditEvent

import fhir.resources
from fhir.resources.fhirtypesvalidators import get_fhir_model_class

FHIR_JSON = "application/fhir+json"
API_REQUEST_TAG = 17
TRANSACTION_TAG = 16


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def validate(resource):
    """Validates one resource against the R4 model of its type; returns the model."""
    check(fhir.resources.__fhir_version__ == "4.0.1", f"fhir.resources holds FHIR {fhir.resources.__fhir_version__}, not R4")
    kind = resource.get("resourceType")
    try:
        model = get_fhir_model_class(kind).parse_obj(resource)
    except Exception as error:  # pydantic's ValidationError names every wrong element
        fail(f"{kind} is not valid FHIR R4: {error}\n{json.dumps(resource, indent=1)[:3000]}")
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            validate(entry["resource"])
    return model


def domain_bytes(chain_id, tag, message):
    chain = chain_id.encode()
    return b"panacea-signature-v1\0" + bytes([len(chain)]) + chain + (0).to_bytes(8, "little") + bytes([tag]) + message


class Signer(requests.auth.AuthBase):
    """Signs each request for one node: the API's signed-request scheme."""

    def __init__(self, seed_hex, chain_id, node_id):
        self.key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        self.public = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        self.chain_id, self.node_id = chain_id, node_id

    def headers(self, method, path_and_query, body):
        timestamp = str(int(time.time() * 1000))
        nonce = secrets.token_hex(16)
        body_hash = hashlib.sha256(body or b"").hexdigest()
        message = f"panacea-api-v2\n{method}\n{path_and_query}\n{body_hash}\n{timestamp}\n{nonce}\n{self.node_id}".encode()
        signature = self.key.sign(domain_bytes(self.chain_id, API_REQUEST_TAG, message)).hex()
        out = {"x-panacea-key": self.public, "x-panacea-timestamp": timestamp, "x-panacea-nonce": nonce, "x-panacea-signature": signature}
        if body:
            out["x-panacea-content-sha256"] = body_hash
        return out

    def __call__(self, request):
        body = request.body.encode() if isinstance(request.body, str) else request.body
        request.headers.update(self.headers(request.method, request.path_url, body))
        return request


def client_for(url, signer):
    """A SMART on FHIR client whose HTTP session signs every request."""
    smart = fhir_client.FHIRClient(settings={"app_id": "panacea-fhir-test", "api_base": url + "/fhir/"})
    smart.server.session.auth = signer
    return smart


def outcome_of(response, status, issue_code=None):
    check(response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:500]}")
    check(response.headers.get("content-type", "").startswith(FHIR_JSON), f"an error is not FHIR JSON: {response.headers}")
    outcome = response.json()
    check(outcome.get("resourceType") == "OperationOutcome", f"not an OperationOutcome: {outcome}")
    validate(outcome)
    if issue_code:
        check(outcome["issue"][0]["code"] == issue_code, f"issue code {outcome['issue'][0]['code']}, expected {issue_code}")
    return outcome


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--auditor-seed", required=True)
    parser.add_argument("--recorder-seed", required=True)
    parser.add_argument("--outsider-seed", required=True, help="a member of another organisation")
    parser.add_argument("--patient", required=True)
    parser.add_argument("--consent", required=True)
    parser.add_argument("--new-consent", required=True, help="a FHIR Consent file to create")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    status = requests.get(f"{url}/v1/status", timeout=10).json()
    chain_id, node_id = status["chain_id"], status["node_id"]
    auditor = Signer(args.auditor_seed, chain_id, node_id)
    checks = 0

    # The CapabilityStatement, through fhirclient's own discovery, and validated.
    smart = client_for(url, auditor)
    smart.prepare()
    capability = smart.server.capabilityStatement
    check(capability.fhirVersion == "4.0.1", f"fhirVersion {capability.fhirVersion}")
    validate(requests.get(f"{url}/fhir/metadata", timeout=10).json())
    checks += 1

    # Read: the consent, as fhirclient's model and as raw JSON validated against R4.
    consent = ClientConsent.read(args.consent, smart.server)
    check(consent.id == args.consent, "read returned another consent")
    check(consent.patient.reference == f"Patient/{args.patient}", f"patient {consent.patient.reference}")
    raw = smart.server.request_json(f"Consent/{args.consent}")
    validate(raw)
    version = raw["meta"]["versionId"]
    vread = smart.server.request_json(f"Consent/{args.consent}/_history/{version}")
    check(vread == raw, "vread of the latest version differs from read")
    checks += 1

    # Search consents by patient and status; page through with _count=1.
    search = ClientConsent.where(struct={"patient": f"Patient/{args.patient}", "status": "active"})
    found = search.perform_resources(smart.server)
    check([c.id for c in found] == [args.consent], f"search found {[c.id for c in found]}")
    bundle = smart.server.request_json(f"Consent?patient=Patient/{args.patient}&_count=1")
    validate(bundle)
    check(bundle["type"] == "searchset" and bundle["total"] >= 1, f"bundle {bundle.get('type')} total {bundle.get('total')}")
    none = smart.server.request_json(f"Consent?patient=Patient/{args.patient}&status=rejected")
    validate(none)
    check(none["total"] == 0 and "entry" not in none, "a status that matches nothing returned entries")
    checks += 1

    # AuditEvent search: by patient and date, paged by the next link, each page validated.
    events = ClientAuditEvent.where(struct={"patient": f"Patient/{args.patient}", "date": "ge2020-01-01"}).perform(smart.server)
    check(events.entry, "no audit event about the patient")
    seen, path = [], f"AuditEvent?patient=Patient/{args.patient}&date=ge2020-01-01&date=lt2100&_count=1"
    while path and len(seen) < 50:
        page = smart.server.request_json(path)
        validate(page)
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        path = next((l["url"] for l in page["link"] if l["relation"] == "next"), None)
    check(len(seen) == len(events.entry) and len(set(seen)) == len(seen), f"paging saw {len(seen)} of {len(events.entry)}")
    kinds = {e.resource.subtype[0].code for e in events.entry}
    check("consent-recorded" in kinds and "access-decision" in kinds, f"kinds {kinds}")
    agent = next(a.who.reference for e in events.entry for a in e.resource.agent if a.who and a.who.reference and a.who.reference.startswith("Practitioner/"))
    by_agent = smart.server.request_json(f"AuditEvent?agent={agent}&subtype=access-decision")
    validate(by_agent)
    check(by_agent.get("entry"), f"no access decision by {agent}")
    future = smart.server.request_json(f"AuditEvent?patient=Patient/{args.patient}&date=ge2100")
    check("entry" not in future, "events recorded after 2100")
    checks += 1

    # Create: $prepare (signed request), sign the transaction, POST, read it back.
    recorder = Signer(args.recorder_seed, chain_id, node_id)
    body = open(args.new_consent, "rb").read()
    prepared = requests.post(f"{url}/fhir/Consent/$prepare", data=body, auth=recorder, headers={"content-type": FHIR_JSON}, timeout=30)
    check(prepared.status_code == 200, f"$prepare: {prepared.status_code} {prepared.text[:500]}")
    parameters = {p["name"]: p["valueString"] for p in validate(prepared.json()).dict()["parameter"] if p["name"] != "unsupported"}
    signature = recorder.key.sign(bytes.fromhex(parameters["signingBytes"])).hex()
    headers = {"content-type": FHIR_JSON, "x-panacea-key": recorder.public, "x-panacea-tx-nonce": parameters["nonce"], "x-panacea-tx-signature": signature}
    created = requests.post(f"{url}/fhir/Consent", data=body, headers=headers, timeout=60)
    check(created.status_code == 201, f"create: {created.status_code} {created.text[:500]}")
    new = validate(created.json())
    check(created.headers["location"].endswith(f"/Consent/{new.id}/_history/1"), f"location {created.headers.get('location')}")
    check(new.patient.reference == parameters["patient"], "the created consent names another patient than $prepare said")
    again = ClientConsent.read(new.id, smart.server)
    check(again.status == "active", f"created consent reads back as {again.status}")
    replay = requests.post(f"{url}/fhir/Consent", data=body, headers=headers, timeout=60)
    check(replay.status_code in (201, 200) and replay.json()["id"] == new.id, "a replayed create recorded a second consent")
    tampered = body.replace(b'"active"', b'"inactive"', 1)
    outcome_of(requests.post(f"{url}/fhir/Consent", data=tampered, headers=headers, timeout=30), 400)
    outcome_of(requests.post(f"{url}/fhir/Consent", data=body, headers={"content-type": FHIR_JSON}, timeout=30), 401, "login")
    checks += 1

    # A consent the chain refuses (a custodian's recording names its signed form): 422.
    formless = json.loads(body)
    formless.pop("sourceAttachment")
    formless["patient"]["reference"] = "Patient/" + "f" * 64
    formless = json.dumps(formless).encode()
    prepared = requests.post(f"{url}/fhir/Consent/$prepare", data=formless, auth=recorder, timeout=30)
    parameters = {p["name"]: p["valueString"] for p in prepared.json()["parameter"]}
    signature = recorder.key.sign(bytes.fromhex(parameters["signingBytes"])).hex()
    headers = {"x-panacea-key": recorder.public, "x-panacea-tx-nonce": parameters["nonce"], "x-panacea-tx-signature": signature}
    outcome_of(requests.post(f"{url}/fhir/Consent", data=formless, headers=headers, timeout=60), 422, "processing")
    checks += 1

    # Errors: each an OperationOutcome with the right status and issue type.
    outsider = Signer(args.outsider_seed, chain_id, node_id)
    outcome_of(requests.get(f"{url}/fhir/Consent/{args.consent}", auth=outsider, timeout=10), 403, "forbidden")
    outcome_of(requests.get(f"{url}/fhir/Consent/{args.consent}", timeout=10), 401, "login")
    outcome_of(requests.get(f"{url}/fhir/Consent/{'0' * 64}", auth=auditor, timeout=10), 404, "not-found")
    outcome_of(requests.get(f"{url}/fhir/AuditEvent?date=yesterday", auth=auditor, timeout=10), 400, "invalid")
    outcome_of(requests.get(f"{url}/fhir/Consent?status=active", auth=auditor, timeout=10), 400, "invalid")
    outcome_of(requests.get(f"{url}/fhir/AuditEvent?colour=blue", auth=auditor, headers={"prefer": "handling=strict"}, timeout=10), 400)
    outcome_of(requests.get(f"{url}/fhir/Patient/123", auth=auditor, timeout=10), 404, "not-supported")
    outcome_of(requests.get(f"{url}/fhir/AuditEvent?_format=xml", auth=auditor, timeout=10), 406)
    checks += 1

    print(json.dumps({"checks": checks, "audit_events_paged": len(seen), "created": new.id}))


if __name__ == "__main__":
    main()
