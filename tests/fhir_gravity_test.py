#!/usr/bin/python3
"""The Gravity SDOH referral workflow against Caseline's FHIR R4 endpoint
(docs/fhir.md), driven by an independent FHIR client.

Usage: fhir_gravity_test.py CASELINED CASELINE [OUTPUT_DIR]

Starts one caselined (gRPC and --http_listen on loopback port 0, an
--access_config naming a hospital and a community-based organisation (CBO)
as agencies) and then acts as a plain FHIR client that knows nothing of
Caseline's protos: JSON over HTTP with python3-requests. gRPC (the caseline
CLI) is used only for what FHIR does not cover (registering the
organisations and the client) and to check that the gRPC view agrees.

  - the hospital records the client's consent (POST Consent) and sends the
    referral (a transaction Bundle: ServiceRequest + Task): 200 with a
    transaction-response Bundle, each entry 201 Created;
  - the CBO polls Task?owner=Organization/<cbo>&status=requested, finds it,
    accepts it (PATCH, If-Match), starts it (PUT) and completes it with an
    output (PATCH);
  - the hospital reads the Task: completed; its _history holds every
    version; the referral read over gRPC (caseline referrals) agrees;
  - a retry of the same Bundle (same identifier) writes nothing and answers
    200 OK;
  - refusals: a stale If-Match 412, a decline by the sender 403, bad JSON
    400, an unknown Task 404, a write of another content type 415, each an
    OperationOutcome;
  - round trip: the Consent and the ServiceRequest/Task as posted are found
    again, element for element, in what the server reads back (the server
    may add elements: meta, id, text, displays, standard codings);
  - the Transitions of Care events: an admission notification and a
    discharge information receipt (POST Communication) and a medication
    reconciliation (POST Procedure) read back, searched by patient and
    encounter, their _history, AuditEvents, access, a correction and a
    Bulk export of the two types;
  - every resource and Bundle the server returned is saved under
    OUTPUT_DIR (default: a temporary directory) and validated against the
    official FHIR R4 JSON schema by tests/fhir/validate.js (node; its
    node_modules come from deploy/install_deps.sh).

No sleeps: views are awaited with --min-position, files the server writes by
polling.
"""

import base64
import copy
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import requests

HOSPITAL = 'org-gravity-hospital'
CBO = 'org-gravity-food-bank'
CLIENT = 'gravity-client-1'
NURSE = 'rn-alvarez'
NAVIGATOR = 'cbo-navigator-kim'
REFERRAL = 'gravity-ref-1'
WRONG_REFERRAL = 'gravity-ref-3'
DECLINED_REFERRAL = 'gravity-ref-2'
CONSENT = 'gravity-consent-1'
DOCUMENT_SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
FHIR_JSON = 'application/fhir+json'
EXTENSION = 'urn:caseline:fhir:extension:'  # Caseline's extensions' url prefix
HERE = os.path.dirname(os.path.abspath(__file__))
VALIDATE_JS = os.path.join(HERE, 'fhir', 'validate.js')


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def wait_for_file(path, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read().strip()
        if process.poll() is not None:
            raise Failure(f'caselined exited with {process.returncode} before writing {path}')
        time.sleep(0.05)  # polling a file the server writes, not waiting out a fixed time
    raise Failure(f'no {path} after {seconds} s')


class Server:
    """One caselined with gRPC and the HTTP listener on loopback port 0."""

    def __init__(self, caselined, caseline, work):
        self.caselined = caselined
        self.caseline_bin = caseline
        self.work = work
        self.process = None

    def start(self):
        config = os.path.join(self.work, 'access.json')
        with open(config, 'w') as f:
            json.dump({'organizations': {HOSPITAL: ['agency'], CBO: ['agency']}}, f)
        grpc_file = os.path.join(self.work, 'grpc-address')
        http_file = os.path.join(self.work, 'http-address')
        self.log = open(os.path.join(self.work, 'caselined.log'), 'w')
        self.process = subprocess.Popen(
            [self.caselined, '--data_dir', os.path.join(self.work, 'data'),
             '--listen', '127.0.0.1:0', '--listen_address_file', grpc_file,
             '--http_listen', '127.0.0.1:0', '--http_address_file', http_file,
             '--access_config', config, '--log_level', 'warn'],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.grpc = wait_for_file(grpc_file, self.process)
        self.base = 'http://' + wait_for_file(http_file, self.process) + '/fhir/r4'

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            check(self.process.returncode == 0,
                  f'caselined exited with {self.process.returncode} on SIGTERM')

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cli(self, *args, org=None, user=None, stdin=None):
        command = [self.caseline_bin, '--server', self.grpc]
        if org:
            command += ['--as-org', org]
        if user:
            command += ['--as-user', user]
        done = subprocess.run(command + list(args), input=stdin, capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise Failure(f'caseline {" ".join(args)}: exit {done.returncode}: {done.stderr}')
        return done.stdout

    def command(self, method, body, org, user):
        return json.loads(self.cli('command', method, org=org, user=user,
                                   stdin=json.dumps(body)))

    def care_events(self, org):
        """The client's stream as `org` reads it over gRPC: (stream version,
        the care events' types). Access records (RecordAccessed) are left out:
        reads add them, writes are what a retry must not add."""
        lines = [json.loads(line) for line in
                 self.cli('read-stream', '--stream', f'client-{CLIENT}', org=org,
                          user='test.runner').splitlines() if line.strip()]
        care = [e['event_type'] for e in lines if e.get('event_type') != 'RecordAccessed']
        return care

    def head(self, org):
        out = json.loads(self.cli('verify', org=org, user='test.runner'))
        return int(out['head_position'])


class Fhir:
    """A FHIR client acting for one organisation and person (loopback
    without TLS: the x-caseline-org / x-caseline-user headers, docs/fhir.md).
    Saves every JSON body the server returns for schema validation."""

    def __init__(self, base, org, user, saved_dir):
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({'x-caseline-org': org, 'x-caseline-user': user,
                                     'Accept': FHIR_JSON})
        self.org = org
        self.saved_dir = saved_dir

    def request(self, method, path, body=None, content_type=FHIR_JSON, headers=None,
                raw=None):
        url = path if path.startswith('http') else self.base + path
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
            h['Content-Type'] = content_type
        elif body is not None:
            data = json.dumps(body)
            h['Content-Type'] = content_type
        r = self.session.request(method, url, data=data, headers=h, timeout=30)
        r.resource = None
        if r.content:
            try:
                r.resource = r.json()
            except ValueError:
                r.resource = None
            self._save(method, path, r)
        return r

    def _save(self, method, path, r):
        n = len(os.listdir(self.saved_dir)) + 1
        name = f'{n:03d}-{self.org}-{method}-{path.split("?")[0].strip("/").replace("/", "_")}'
        with open(os.path.join(self.saved_dir, name[:120] + '.json'), 'wb') as f:
            f.write(r.content)

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body, **kw):
        return self.request('POST', path, body, **kw)

    def put(self, path, body, **kw):
        return self.request('PUT', path, body, **kw)

    def patch(self, path, ops, **kw):
        return self.request('PATCH', path, ops, content_type='application/json-patch+json', **kw)


def describe(r):
    body = r.text if len(r.text) < 3000 else r.text[:3000] + '...'
    return f'{r.request.method} {r.request.url} -> {r.status_code} {r.headers.get("Content-Type")}: {body}'


def expect(r, status, what):
    if r.status_code != status:
        raise Failure(f'{what}: expected HTTP {status}: {describe(r)}')
    ctype = r.headers.get('Content-Type', '')
    if r.content and not ctype.startswith(FHIR_JSON):
        raise Failure(f'{what}: Content-Type {ctype!r}, not {FHIR_JSON}: {describe(r)}')
    return r.resource


def expect_outcome(r, status, what, diagnostics=None):
    outcome = expect(r, status, what)
    check(isinstance(outcome, dict) and outcome.get('resourceType') == 'OperationOutcome',
          f'{what}: not an OperationOutcome: {describe(r)}')
    issues = outcome.get('issue') or [{}]
    check(issues[0].get('severity') in ('error', 'fatal'), f'{what}: issue severity: {describe(r)}')
    if diagnostics is not None:
        check(diagnostics in issues[0].get('diagnostics', ''),
              f'{what}: diagnostics without {diagnostics!r}: {describe(r)}')
    return outcome


def version_of(etag):
    check(etag and etag.startswith('W/"') and etag.endswith('"'), f'ETag {etag!r} is not W/"<v>"')
    return etag[3:-1]


def contains(sent, got, path='', ignore=()):
    """Every element of `sent` is in `got` with the same value: objects
    member by member, arrays element by element in any order (each sent
    element matched by a distinct received one). Returns the differences."""
    if path in ignore:
        return []
    if isinstance(sent, dict):
        if not isinstance(got, dict):
            return [f'{path or "/"}: sent an object, read {json.dumps(got)}']
        diffs = []
        for key, value in sent.items():
            if key not in got:
                if f'{path}/{key}' not in ignore:
                    diffs.append(f'{path}/{key}: sent {json.dumps(value)}, read nothing')
                continue
            diffs += contains(value, got[key], f'{path}/{key}', ignore)
        return diffs
    if isinstance(sent, list):
        if not isinstance(got, list):
            return [f'{path}: sent an array, read {json.dumps(got)}']
        unmatched = list(range(len(got)))
        diffs = []
        for i, item in enumerate(sent):
            match = next((j for j in unmatched if not contains(item, got[j], path, ignore)), None)
            if match is None:
                diffs.append(f'{path}[{i}]: sent {json.dumps(item)}, not among {json.dumps(got)}')
            else:
                unmatched.remove(match)
        return diffs
    if sent != got:
        return [f'{path}: sent {json.dumps(sent)}, read {json.dumps(got)}']
    return []


def caseline_coding(system, code):
    return {'system': f'urn:caseline:{system}', 'code': code}


def instant(t):
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + f'{t.microsecond // 1000:03d}Z'


def consent_resource():
    # Given an hour ago (not after the server records it), for a year.
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    given = instant(now - datetime.timedelta(hours=1))
    until = instant(now + datetime.timedelta(days=365))
    digest = base64.b64encode(bytes.fromhex(DOCUMENT_SHA256)).decode()
    return {
        'resourceType': 'Consent',
        'identifier': [{'system': 'urn:caseline:consent-id', 'value': CONSENT}],
        'status': 'active',
        'scope': {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/consentscope',
                              'code': 'patient-privacy'}]},
        'category': [{'coding': [{'system': 'http://loinc.org', 'code': '59284-0'}]}],
        'patient': {'reference': f'Patient/{CLIENT}'},
        'dateTime': given,
        'performer': [{'reference': f'Patient/{CLIENT}'}],
        'organization': [{'reference': f'Organization/{HOSPITAL}'}],
        'sourceAttachment': {'title': 'gravity-consent-form.pdf', 'hash': digest},
        'policyRule': {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
                                   'code': 'OPTIN'}]},
        'extension': [{'url': EXTENSION + 'consent-method',
                       'valueCoding': caseline_coding('consent-method', 'signed-form')}],
        'provision': {
            'type': 'permit',
            'period': {'start': given, 'end': until},
            'actor': [{'role': {'coding': [{
                'system': 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                'code': 'IRCP'}]},
                'reference': {'reference': f'Organization/{CBO}'}}],
            'purpose': [{'system': 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
                         'code': 'CAREMGT'}],
            'class': [caseline_coding('data-class', 'general'),
                      caseline_coding('data-class', 'financial')],
        },
    }


def referral_bundle(referral_id, reason):
    """The Gravity IG's referral as a transaction: a ServiceRequest and the
    Task that asks the CBO to fulfil it (Task.focus -> the ServiceRequest's
    fullUrl)."""
    request_url = f'urn:uuid:{uuid.uuid4()}'
    service_request = {
        'resourceType': 'ServiceRequest',
        'identifier': [{'system': 'urn:caseline:referral-id', 'value': referral_id}],
        'status': 'active',
        'intent': 'order',
        'category': [{'coding': [caseline_coding('service-category', 'food')]}],
        'code': {'coding': [caseline_coding('service-category', 'food')]},
        'priority': 'urgent',
        'subject': {'reference': f'Patient/{CLIENT}'},
        'requester': {'reference': f'Organization/{HOSPITAL}'},
        'performer': [{'reference': f'Organization/{CBO}'}],
        'reasonCode': [{'text': reason}],
        'extension': [
            {'url': EXTENSION + 'referral-kind',
             'valueCoding': caseline_coding('referral-kind', 'warm')},
            {'url': EXTENSION + 'shared-data-class',
             'valueCoding': caseline_coding('data-class', 'general')},
        ],
    }
    task = {
        'resourceType': 'Task',
        'identifier': [{'system': 'urn:caseline:referral-id', 'value': referral_id}],
        'status': 'requested',
        'intent': 'order',
        'priority': 'urgent',
        'code': {'coding': [{'system': 'http://hl7.org/fhir/CodeSystem/task-code',
                             'code': 'fulfill'}]},
        'focus': {'reference': request_url},
        'for': {'reference': f'Patient/{CLIENT}'},
        'requester': {'reference': f'Organization/{HOSPITAL}'},
        'owner': {'reference': f'Organization/{CBO}'},
    }
    return {
        'resourceType': 'Bundle',
        'type': 'transaction',
        'entry': [
            {'fullUrl': request_url, 'resource': service_request,
             'request': {'method': 'POST', 'url': 'ServiceRequest'}},
            {'fullUrl': f'urn:uuid:{uuid.uuid4()}', 'resource': task,
             'request': {'method': 'POST', 'url': 'Task'}},
        ],
    }


def the_id(referral_id):
    # Logical ids: client and item joined by ".." (docs/fhir.md "Identifiers");
    # the ids here have no '.' or '_', which the encoding would escape.
    return f'{CLIENT}..{referral_id}'


def send_referral(hospital, bundle, status_line, what):
    response = expect(hospital.post('', bundle), 200, what)
    check(response.get('resourceType') == 'Bundle' and
          response.get('type') == 'transaction-response',
          f'{what}: not a transaction-response Bundle: {json.dumps(response)}')
    entries = response.get('entry') or []
    check(len(entries) == 2, f'{what}: {len(entries)} entries: {json.dumps(response)}')
    locations = {}
    for entry, kind in zip(entries, ['ServiceRequest', 'Task']):
        answer = entry.get('response') or {}
        check(answer.get('status', '').startswith(status_line),
              f'{what}: {kind} entry status {answer.get("status")!r}, not {status_line!r}')
        location = answer.get('location', '')
        check(location.startswith(f'{kind}/'), f'{what}: {kind} location {location!r}')
        check(location.split('/')[1] == the_id(bundle['entry'][0]['resource']['identifier'][0]
                                               ['value']),
              f'{what}: {kind} location {location!r} names another id')
        version_of(answer.get('etag'))
        locations[kind] = location
    return response, locations


def run(server, work, saved):
    hospital = Fhir(server.base, HOSPITAL, NURSE, saved)
    cbo = Fhir(server.base, CBO, NAVIGATOR, saved)

    # --- set-up FHIR does not cover: the organisations and the client (gRPC) ---
    server.command('Organizations.RegisterOrganization', {
        'command_id': 'gravity-org-1', 'organization_registered': {
            'organization_id': HOSPITAL, 'name': 'Gravity General Hospital',
            'type': 'ORGANIZATION_TYPE_HOSPITAL'}}, org=HOSPITAL, user=NURSE)
    server.command('Organizations.RegisterOrganization', {
        'command_id': 'gravity-org-2', 'organization_registered': {
            'organization_id': CBO, 'name': 'Gravity Food Bank',
            'type': 'ORGANIZATION_TYPE_COMMUNITY_AGENCY',
            'service_categories': ['SERVICE_CATEGORY_FOOD']}}, org=CBO, user=NAVIGATOR)
    server.command('Clients.RegisterClient', {
        'command_id': 'gravity-client-1', 'client_id': CLIENT, 'client_registered': {
            'name': {'given': 'Rosa', 'family': 'Delgado'},
            'birth_date': {'year': 1961, 'month': 7, 'day': 2}}}, org=HOSPITAL, user=NURSE)

    # --- what the server says it does ---
    capability = expect(hospital.get('/metadata'), 200, 'GET metadata')
    check(capability.get('resourceType') == 'CapabilityStatement' and
          capability.get('fhirVersion', '').startswith('4.0'),
          f'metadata: {json.dumps(capability)[:500]}')

    patient = expect(hospital.get(f'/Patient/{CLIENT}'), 200, 'GET Patient')
    check(patient.get('id') == CLIENT, f'Patient id: {patient.get("id")}')

    # --- the consent, as FHIR ---
    consent = consent_resource()
    r = hospital.post('/Consent', consent)
    created = expect(r, 201, 'POST Consent')
    consent_id = f'{CLIENT}..{CONSENT}'
    check(f'Consent/{consent_id}/_history/' in r.headers.get('Location', ''),
          f'POST Consent Location: {r.headers.get("Location")!r}')
    check(created.get('id') == consent_id, f'POST Consent answered id {created.get("id")}')
    read_consent = expect(hospital.get(f'/Consent/{consent_id}'), 200, 'GET Consent')
    # Round trip: every element posted is read back unchanged; the server adds
    # id, meta, the codings' displays and standard codes, the document url.
    diffs = contains(consent, read_consent)
    check(not diffs, 'Consent round trip:\n  ' + '\n  '.join(diffs))
    check(read_consent.get('status') == 'active', 'Consent not active')
    search = expect(hospital.get(f'/Consent?patient=Patient/{CLIENT}'), 200, 'Consent?patient=')
    check([e['resource']['id'] for e in search.get('entry', [])] == [consent_id],
          f'Consent?patient=: {json.dumps(search)[:800]}')
    # A retry of the same Consent (same identifier) writes nothing.
    events_before = server.care_events(HOSPITAL)
    again = hospital.post('/Consent', consent)
    expect(again, 200, 'a retry of the same Consent (same identifier)')
    check(server.care_events(HOSPITAL) == events_before, 'the Consent retry wrote events')

    # --- the hospital sends the referral: a transaction Bundle ---
    bundle = referral_bundle(REFERRAL, 'food insecurity screening positive (Hunger Vital Sign)')
    before = server.care_events(HOSPITAL)
    response, locations = send_referral(hospital, bundle, '201', 'POST referral Bundle')
    after = server.care_events(HOSPITAL)
    check(after[len(before):] == ['ReferralSent'],
          f'the referral Bundle wrote {after[len(before):]}, not one ReferralSent')
    task_id = the_id(REFERRAL)

    # Round trip of the ServiceRequest and Task as posted.
    read_request = expect(hospital.get(f'/ServiceRequest/{task_id}'), 200, 'GET ServiceRequest')
    diffs = contains(bundle['entry'][0]['resource'], read_request)
    check(not diffs, 'ServiceRequest round trip:\n  ' + '\n  '.join(diffs))
    r = hospital.get(f'/Task/{task_id}')
    read_task = expect(r, 200, 'GET Task')
    sent_task = copy.deepcopy(bundle['entry'][1]['resource'])
    # The focus names the ServiceRequest by its fullUrl in the transaction; the
    # server resolves it to the ServiceRequest's id.
    sent_task['focus'] = {'reference': f'ServiceRequest/{task_id}'}
    diffs = contains(sent_task, read_task)
    check(not diffs, 'Task round trip:\n  ' + '\n  '.join(diffs))
    check(r.headers.get('ETag') == f'W/"{read_task["meta"]["versionId"]}"',
          f'Task ETag {r.headers.get("ETag")} vs meta.versionId {read_task["meta"]}')
    # The response's entries carry the resources as read.
    for entry, read in zip(response['entry'], [read_request, read_task]):
        if 'resource' in entry:
            check(entry['resource'] == read,
                  f'transaction-response resource differs from the read: {json.dumps(entry)}')

    # --- a retry of the same Bundle writes nothing ---
    version_before = read_task['meta']['versionId']
    before = server.care_events(HOSPITAL)
    send_referral(hospital, referral_bundle(REFERRAL, bundle['entry'][0]['resource']
                                            ['reasonCode'][0]['text']),
                  '200', 'retry of the referral Bundle')
    check(server.care_events(HOSPITAL) == before, 'the retried Bundle wrote events')
    check(expect(hospital.get(f'/Task/{task_id}'), 200, 'GET Task after retry')['meta']
          ['versionId'] == version_before, 'the retry changed the Task version')

    # --- the CBO polls its inbox ---
    inbox = expect(cbo.get(f'/Task?owner=Organization/{CBO}&status=requested'), 200,
                   'CBO polls Task?owner=&status=requested')
    check(inbox.get('type') == 'searchset', f'inbox is a {inbox.get("type")}')
    found = [e['resource'] for e in inbox.get('entry', [])
             if e.get('resource', {}).get('resourceType') == 'Task']
    check([t['id'] for t in found] == [task_id], f'inbox Tasks: {[t["id"] for t in found]}')
    task = found[0]
    check(task['status'] == 'requested', f'inbox Task status {task["status"]}')
    # With the focus ServiceRequest included, as the Gravity IG's polling does.
    included = expect(cbo.get(f'/Task?owner=Organization/{CBO}&status=requested'
                              f'&_include=Task:focus'), 200, 'Task?...&_include=Task:focus')
    check(any(e.get('resource', {}).get('resourceType') == 'ServiceRequest' and
              e['resource']['id'] == task_id for e in included.get('entry', [])),
          f'_include=Task:focus: no ServiceRequest: {json.dumps(included)[:800]}')

    # --- accept (PATCH, If-Match), with a stale If-Match refused first ---
    r = cbo.get(f'/Task/{task_id}')
    expect(r, 200, 'CBO reads the Task')
    etag = r.headers.get('ETag')
    stale = f'W/"{int(version_of(etag)) - 1}"'
    r = cbo.patch(f'/Task/{task_id}', [{'op': 'replace', 'path': '/status', 'value': 'accepted'}],
                  headers={'If-Match': stale})
    expect_outcome(r, 412, f'accept with a stale If-Match {stale} (current {etag})')
    before = server.care_events(HOSPITAL)
    r = cbo.patch(f'/Task/{task_id}', [{'op': 'replace', 'path': '/status', 'value': 'accepted'}],
                  headers={'If-Match': etag})
    accepted = expect(r, 200, 'CBO accepts (PATCH status accepted)')
    check(accepted.get('status') == 'accepted', f'PATCH answered status {accepted.get("status")}')
    check(server.care_events(HOSPITAL)[len(before):] == ['ReferralAccepted'],
          f'accept wrote {server.care_events(HOSPITAL)[len(before):]}')
    check(r.headers.get('ETag') != etag, f'ETag unchanged by the accept: {etag}')
    # The same status again: 200, nothing written.
    before = server.care_events(HOSPITAL)
    same = expect(cbo.patch(f'/Task/{task_id}', [{'op': 'replace', 'path': '/status',
                                                  'value': 'accepted'}]),
                  200, 'PATCH to the status it has')
    check(same.get('status') == 'accepted', 'same-status PATCH')
    check(server.care_events(HOSPITAL) == before, 'a PATCH to the same status wrote events')

    # --- start (PUT of the whole Task) ---
    current = expect(cbo.get(f'/Task/{task_id}'), 200, 'CBO reads the accepted Task')
    current['status'] = 'in-progress'
    r = cbo.put(f'/Task/{task_id}', current,
                headers={'If-Match': f'W/"{current["meta"]["versionId"]}"'})
    started = expect(r, 200, 'CBO starts (PUT status in-progress)')
    check(started.get('status') == 'in-progress', f'PUT answered status {started.get("status")}')

    # --- complete, with what was delivered ---
    delivered = 'enrolled in the weekly produce box; first delivery 2026-01-09'
    r = cbo.patch(f'/Task/{task_id}', [
        {'op': 'replace', 'path': '/status', 'value': 'completed'},
        {'op': 'add', 'path': '/output', 'value': [{
            'type': {'coding': [{
                'system': 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/'
                          'SDOHCC-CodeSystemTemporaryCodes',
                'code': 'resulting-activity'}]},
            'valueString': delivered}]}])
    completed = expect(r, 200, 'CBO completes (PATCH status completed + output)')
    check(completed.get('status') == 'completed', f'complete answered {completed.get("status")}')

    # --- the hospital sees it completed, and every version ---
    final = expect(hospital.get(f'/Task/{task_id}'), 200, 'hospital reads the Task')
    check(final['status'] == 'completed', f'hospital sees status {final["status"]}')
    outputs = [o.get('valueString') for o in final.get('output', [])]
    check(outputs == [delivered], f'Task.output {outputs}')
    history = expect(hospital.get(f'/Task/{task_id}/_history'), 200, 'Task _history')
    check(history.get('type') == 'history', f'_history is a {history.get("type")}')
    versions = [e['resource'] for e in history.get('entry', [])]
    statuses = [v.get('status') for v in versions]
    check(statuses == ['completed', 'in-progress', 'accepted', 'requested'],
          f'_history statuses (newest first): {statuses}')
    ids = [int(v['meta']['versionId']) for v in versions]
    check(ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids),
          f'_history versionIds not strictly newest first: {ids}')
    check(ids[0] == int(final['meta']['versionId']), 'newest history version is not the current')
    check(ids[-1] == int(version_before), f'oldest history version {ids[-1]} != {version_before}')
    old = expect(hospital.get(f'/Task/{task_id}/_history/{ids[-1]}'), 200, 'vread oldest')
    check(old.get('status') == 'requested', f'vread of {ids[-1]}: {old.get("status")}')
    for v in versions:
        expect(hospital.get(f'/Task/{task_id}/_history/{v["meta"]["versionId"]}'), 200,
               'vread')
    requester_view = expect(hospital.get(f'/Task?requester=Organization/{HOSPITAL}'), 200,
                            'Task?requester=')
    check([e['resource']['id'] for e in requester_view.get('entry', [])
           if e.get('search', {}).get('mode', 'match') == 'match'] == [task_id],
          f'Task?requester=: {json.dumps(requester_view)[:800]}')
    by_subject = expect(hospital.get(f'/ServiceRequest?subject=Patient/{CLIENT}'), 200,
                        'ServiceRequest?subject=')
    check([e['resource']['id'] for e in by_subject.get('entry', [])] == [task_id],
          f'ServiceRequest?subject=: {json.dumps(by_subject)[:800]}')
    check(by_subject['entry'][0]['resource'].get('status') == 'completed',
          'ServiceRequest status after completion')

    # --- the same referral over gRPC agrees ---
    head = server.head(HOSPITAL)
    listed = [json.loads(line) for line in server.cli(
        'referrals', '--org', HOSPITAL, '--direction', 'sent', '--status', 'completed',
        '--min-position', str(head), org=HOSPITAL, user=NURSE).splitlines()
        if line.strip().startswith('{')]
    entries = [e for e in listed if e.get('referral', {}).get('referral_id') == REFERRAL]
    check(len(entries) == 1, f'caseline referrals: {listed}')
    grpc_view = entries[0]['referral']
    check(entries[0].get('client_id') == CLIENT, f'gRPC client {entries[0]}')
    check(grpc_view.get('status') == final['status'], f'gRPC status {grpc_view.get("status")}')
    check(grpc_view.get('to_organization_id') == CBO and
          grpc_view.get('from_organization_id') == HOSPITAL, f'gRPC organisations {grpc_view}')
    check(grpc_view.get('service_category') == 'SERVICE_CATEGORY_FOOD', f'gRPC {grpc_view}')
    check(grpc_view.get('urgency') == 'URGENCY_URGENT', f'gRPC urgency {grpc_view}')
    if 'version' in grpc_view:
        check(str(grpc_view['version']) == final['meta']['versionId'],
              f'gRPC version {grpc_view["version"]} vs FHIR {final["meta"]["versionId"]}')
    if 'delivered' in grpc_view:
        check(grpc_view['delivered'] == delivered, f'gRPC delivered {grpc_view["delivered"]}')

    # --- refusals ---
    # A decline by the sender: only the receiver may decline (403, the gRPC
    # message). Then the CBO declines it with a reason, which reads back.
    send_referral(hospital, referral_bundle(DECLINED_REFERRAL, 'second food referral'), '201',
                  'POST a second referral Bundle')
    second = the_id(DECLINED_REFERRAL)
    decline = [{'op': 'replace', 'path': '/status', 'value': 'rejected'},
               {'op': 'add', 'path': '/statusReason', 'value': {'text': 'outside our area'}}]
    before = server.care_events(HOSPITAL)
    expect_outcome(hospital.patch(f'/Task/{second}', decline), 403,
                   'the sender declines its own referral',
                   diagnostics=f'only the receiving organisation ({CBO})')
    check(server.care_events(HOSPITAL) == before, 'a refused decline wrote events')
    declined = expect(cbo.patch(f'/Task/{second}', decline), 200, 'CBO declines')
    check(declined.get('status') == 'rejected' and
          declined.get('statusReason', {}).get('text') == 'outside our area',
          f'declined Task: {json.dumps(declined)}')
    expect_outcome(hospital.post('', None, raw='{"resourceType": "Bundle", "type": '), 400,
                   'a Bundle that is not JSON')
    expect_outcome(cbo.patch(f'/Task/{task_id}', None, raw='[{"op": "replace"'), 400,
                   'a PATCH that is not JSON')
    expect_outcome(hospital.get(f'/Task/{CLIENT}..no-such-referral'), 404, 'an unknown Task')
    expect_outcome(hospital.get('/Task/not-an-encoded-id'), 404, 'a Task id that decodes to nothing')
    expect_outcome(hospital.post('', bundle, content_type='text/plain'), 415,
                   'a transaction posted as text/plain')

    # --- entered in error: a referral sent for the wrong patient ---
    send_referral(hospital, referral_bundle(WRONG_REFERRAL, 'sent for the wrong patient'), '201',
                  'POST a referral Bundle meant for another patient')
    wrong = the_id(WRONG_REFERRAL)
    expect(hospital.get(f'/Task/{wrong}'), 200, 'the wrong Task before its correction')
    event_id = None
    for line in server.cli('timeline', '--client', CLIENT, '--type', 'ReferralSent',
                           org=HOSPITAL, user=NURSE).splitlines():
        entry = json.loads(line)
        if entry.get('event', {}).get('referral_sent', {}).get('referral_id') == WRONG_REFERRAL:
            event_id = entry['event_id']
    check(event_id is not None, 'the wrong referral is not on the timeline')
    server.cli('command', 'Clients.MarkEnteredInError', org=HOSPITAL, user=NURSE,
               stdin=json.dumps({'command_id': 'eie-wrong', 'client_id': CLIENT,
                                 'event_entered_in_error': {'event_id': event_id,
                                                            'reason': 'wrong patient'}}))
    expect_outcome(hospital.get(f'/Task/{wrong}'), 404, 'the Task after its correction')
    expect_outcome(hospital.get(f'/ServiceRequest/{wrong}'), 404,
                   'the ServiceRequest after its correction')
    gone = expect(hospital.get(f'/Task/{wrong}/_history'), 200, 'the corrected Task _history')
    entries = gone.get('entry', [])
    check(len(entries) == 2 and entries[0].get('request', {}).get('method') == 'DELETE' and
          entries[0].get('response', {}).get('status') == '410 Gone' and
          'resource' not in entries[0] and
          entries[1].get('resource', {}).get('status') == 'requested',
          f'_history after the correction: {json.dumps(gone)[:800]}')
    tasks = expect(cbo.get(f'/Task?owner=Organization/{CBO}&status=requested'), 200,
                   'the CBO\'s requested Tasks')
    check(all(e['resource']['id'] != wrong for e in tasks.get('entry', [])),
          'the corrected Task is still found by a search')

    transitions_of_care(server, hospital, cbo)

    print(f'fhir_gravity: {len(os.listdir(saved))} server answers saved')


def transitions_of_care(server, hospital, cbo):
    """The HEDIS TRC events as Communication and Procedure (docs/fhir.md):
    the hospital admits the client (POST Encounter); the CBO records that it
    was notified of the admission and got the discharge information (POST
    Communication) and that it reconciled the medications (POST Procedure);
    each reads back, is found by patient and by encounter, has a _history
    and a vread, is idempotent by identifier, shows on the AuditEvents; a
    reconciliation about a mental-health stay the CBO's consent does not
    cover is hidden from it as that stay's Encounter is; one marked entered
    in error is gone."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    admission, mh_admission = 'gravity-adm-1', 'gravity-adm-2'
    encounter_id, mh_encounter_id = f'{CLIENT}..{admission}', f'{CLIENT}..{mh_admission}'

    def encounter(admission_id, start, reasons):
        return {'resourceType': 'Encounter',
                'identifier': [{'system': 'urn:caseline:admission-id', 'value': admission_id}],
                'status': 'in-progress',
                'class': {'system': 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
                          'code': 'IMP'},
                'subject': {'reference': f'Patient/{CLIENT}'},
                'serviceProvider': {'reference': f'Organization/{HOSPITAL}'},
                'period': {'start': instant(start)},
                'reasonCode': reasons}

    expect(hospital.post('/Encounter', encounter(admission, now - datetime.timedelta(days=3),
                                                 [])), 201, 'POST Encounter (the stay)')
    expect(hospital.post('/Encounter', encounter(
        mh_admission, now - datetime.timedelta(days=2),
        [{'coding': [caseline_coding('service-category', 'mental-health')]}])), 201,
        'POST Encounter (a mental-health stay)')

    def communication(event_type, system, ident, received):
        return {'resourceType': 'Communication',
                'identifier': [{'system': f'urn:caseline:{system}', 'value': ident}],
                'status': 'completed',
                'category': [{'coding': [{'system': 'urn:caseline:event-type',
                                          'code': event_type}]}],
                'subject': {'reference': f'Patient/{CLIENT}'},
                'encounter': {'reference': f'Encounter/{encounter_id}'},
                'received': instant(received),
                'recipient': [{'reference': f'Organization/{CBO}'}]}

    notification = communication('AdmissionNotificationReceived', 'admission-notification-id',
                                  'gravity-note-1', now - datetime.timedelta(days=3, hours=-2))
    receipt = communication('DischargeInformationReceived', 'discharge-information-id',
                            'gravity-receipt-1', now - datetime.timedelta(hours=5))
    reconciliation = {
        'resourceType': 'Procedure',
        'identifier': [{'system': 'urn:caseline:medication-reconciliation-id',
                        'value': 'gravity-medrec-1'}],
        'status': 'completed',
        'code': {'coding': [{'system': 'http://snomed.info/sct', 'code': '430193006'}]},
        'subject': {'reference': f'Patient/{CLIENT}'},
        'encounter': {'reference': f'Encounter/{encounter_id}'},
        'performedDateTime': instant(now - datetime.timedelta(hours=1)),
        'performer': [{'function': {'coding': [caseline_coding('discipline', 'nursing')]},
                       'actor': {'reference': f'Organization/{CBO}'}}]}
    ids = {}
    for kind, body, part in (('Communication', notification, 'notification'),
                             ('Communication', receipt, 'receipt'),
                             ('Procedure', reconciliation, None)):
        ident = body['identifier'][0]['value']
        ids[ident] = f'{CLIENT}..{part}..{ident}' if part else f'{CLIENT}..{ident}'
        before = server.care_events(CBO)
        r = cbo.post(f'/{kind}', body)
        created = expect(r, 201, f'POST {kind} {ident}')
        check(created.get('id') == ids[ident], f'POST {kind} answered id {created.get("id")}')
        check(f'{kind}/{ids[ident]}/_history/' in r.headers.get('Location', ''),
              f'POST {kind} Location: {r.headers.get("Location")!r}')
        added = server.care_events(CBO)[len(before):]
        check(len(added) == 1, f'POST {kind} wrote {added}')
        read = expect(cbo.get(f'/{kind}/{ids[ident]}'), 200, f'GET {kind} {ident}')
        diffs = contains(body, read)
        check(not diffs, f'{kind} round trip:\n  ' + '\n  '.join(diffs))
        check(read['meta']['versionId'] == version_of(r.headers.get('ETag')),
              f'{kind} meta.versionId vs ETag')
        # The same write again (same identifier) writes nothing: 200.
        expect(cbo.post(f'/{kind}', body), 200, f'a retry of POST {kind} {ident}')
        check(server.care_events(CBO)[len(before):] == added, f'the {kind} retry wrote events')
        history = expect(cbo.get(f'/{kind}/{ids[ident]}/_history'), 200, f'{kind} _history')
        entries = history.get('entry', [])
        check(len(entries) == 1 and entries[0]['request']['method'] == 'POST' and
              entries[0]['response']['status'] == '201 Created',
              f'{kind} _history: {json.dumps(history)[:600]}')
        version = read['meta']['versionId']
        vread = expect(cbo.get(f'/{kind}/{ids[ident]}/_history/{version}'), 200, f'{kind} vread')
        check(vread == read, f'{kind} vread differs from the read')
    check(server.care_events(CBO)[-3:] == ['AdmissionNotificationReceived',
                                            'DischargeInformationReceived',
                                            'MedicationReconciliationRecorded'],
          f'the TRC events on the stream: {server.care_events(CBO)[-3:]}')

    # The same identifier with another body: 409, nothing written.
    changed = copy.deepcopy(receipt)
    changed['received'] = instant(now - datetime.timedelta(hours=4))
    expect_outcome(cbo.post('/Communication', changed), 409,
                   'the same receipt identifier with another body', diagnostics='command_id')
    # Refusals the mapping makes (docs/fhir.md "Communication and Procedure").
    no_encounter = copy.deepcopy(notification)
    del no_encounter['encounter']
    expect_outcome(cbo.post('/Communication', no_encounter), 400, 'a Communication without encounter',
                   diagnostics='Communication.encounter: is required')
    other_code = copy.deepcopy(reconciliation)
    other_code['code']['coding'][0]['code'] = '182836005'
    expect_outcome(cbo.post('/Procedure', other_code), 400, 'a Procedure of another code',
                   diagnostics='Procedure.code: ')
    expect_outcome(hospital.post('/Procedure', reconciliation), 403,
                   'a Procedure naming another organisation as performer',
                   diagnostics='Procedure.performer.actor: ')
    unknown = copy.deepcopy(notification)
    unknown['identifier'][0]['value'] = 'gravity-note-2'
    unknown['encounter']['reference'] = f'Encounter/{CLIENT}..no-such-admission'
    expect(cbo.post('/Communication', unknown), 404, 'a notification of an unknown admission')
    expect_outcome(cbo.put(f'/Procedure/{ids["gravity-medrec-1"]}', reconciliation), 501,
                   'PUT Procedure', diagnostics='updating a Procedure is not supported')

    # Searches: by patient, by encounter, by status; _count is accepted.
    def found(fhir, query, what):
        bundle = expect(fhir.get(query), 200, what)
        check(bundle.get('type') == 'searchset', f'{what}: {json.dumps(bundle)[:300]}')
        return sorted(e['resource']['id'] for e in bundle.get('entry', []))
    both = sorted([ids['gravity-note-1'], ids['gravity-receipt-1']])
    check(found(cbo, f'/Communication?patient=Patient/{CLIENT}&_count=1', 'Communication?patient=')
          == both, 'Communication?patient= does not list both')
    check(found(cbo, f'/Communication?encounter=Encounter/{encounter_id}', 'Communication?encounter=')
          == both, 'Communication?encounter= does not list both')
    check(found(cbo, f'/Procedure?subject=Patient/{CLIENT}&status=completed', 'Procedure?subject=')
          == [ids['gravity-medrec-1']], 'Procedure?subject=&status=completed')
    check(found(cbo, f'/Procedure?encounter=Encounter/{mh_encounter_id}', 'Procedure?encounter=')
          == [], 'Procedure?encounter= of the other stay is not empty')
    expect_outcome(cbo.get('/Procedure'), 400, 'Procedure without patient or encounter',
                   diagnostics='or encounter=Encounter/<id>')

    # The AuditEvents name the resources the events created.
    audit = expect(cbo.get(f'/AuditEvent?patient=Patient/{CLIENT}&_count=1000'), 200,
                   'AuditEvent?patient=')
    whats = {entity.get('what', {}).get('reference')
             for e in audit.get('entry', []) for entity in e['resource'].get('entity', [])}
    for kind, ident in (('Communication', 'gravity-note-1'), ('Communication', 'gravity-receipt-1'),
                        ('Procedure', 'gravity-medrec-1')):
        check(f'{kind}/{ids[ident]}' in whats, f'no AuditEvent names {kind}/{ids[ident]}')

    # Access: a reconciliation after the mental-health stay, recorded by the
    # hospital, is hidden from the CBO exactly as that stay's Encounter is.
    mh = copy.deepcopy(reconciliation)
    mh['identifier'][0]['value'] = 'gravity-medrec-2'
    mh['encounter']['reference'] = f'Encounter/{mh_encounter_id}'
    mh['performer'][0]['actor']['reference'] = f'Organization/{HOSPITAL}'
    expect(hospital.post('/Procedure', mh), 201, 'the hospital records a reconciliation (MH stay)')
    mh_id = f'{CLIENT}..gravity-medrec-2'
    expect(hospital.get(f'/Procedure/{mh_id}'), 200, 'the hospital reads it')
    as_encounter = cbo.get(f'/Encounter/{mh_encounter_id}')
    as_procedure = cbo.get(f'/Procedure/{mh_id}')
    check(as_encounter.status_code != 200 and
          as_procedure.status_code == as_encounter.status_code,
          f'the CBO reads the MH stay as {as_encounter.status_code} and its reconciliation as '
          f'{as_procedure.status_code}: {describe(as_procedure)}')
    check(found(cbo, f'/Procedure?patient=Patient/{CLIENT}', 'the CBO\'s Procedure?patient=')
          == [ids['gravity-medrec-1']], 'the CBO finds the MH reconciliation')

    # Entered in error: the reconciliation is gone; its _history ends in 410.
    event_id = None
    for line in server.cli('timeline', '--client', CLIENT, '--type',
                           'MedicationReconciliationRecorded', org=HOSPITAL,
                           user=NURSE).splitlines():
        entry = json.loads(line)
        if (entry.get('event', {}).get('medication_reconciliation_recorded', {})
                .get('reconciliation_id') == 'gravity-medrec-2'):
            event_id = entry['event_id']
    check(event_id is not None, 'the MH reconciliation is not on the timeline')
    server.cli('command', 'Clients.MarkEnteredInError', org=HOSPITAL, user=NURSE,
               stdin=json.dumps({'command_id': 'eie-medrec', 'client_id': CLIENT,
                                 'event_entered_in_error': {'event_id': event_id,
                                                            'reason': 'wrong stay'}}))
    expect_outcome(hospital.get(f'/Procedure/{mh_id}'), 404, 'the Procedure after its correction')
    gone = expect(hospital.get(f'/Procedure/{mh_id}/_history'), 200, 'its _history')
    entries = gone.get('entry', [])
    check(len(entries) == 2 and entries[0]['request']['method'] == 'DELETE' and
          entries[0]['response']['status'] == '410 Gone',
          f'Procedure _history after the correction: {json.dumps(gone)[:600]}')

    # Bulk export: the CBO's Communication and Procedure files hold what it
    # may see (not the corrected, nor the mental-health, reconciliation).
    r = cbo.get('/Patient/$export?_type=Communication,Procedure',
                headers={'Prefer': 'respond-async'})
    check(r.status_code == 202, f'export kick-off: {describe(r)}')
    status_url = r.headers.get('Content-Location', '')
    deadline = time.monotonic() + 60
    while True:
        # The manifest is not a FHIR resource: not saved for the validator.
        r = cbo.session.get(status_url, timeout=30)
        if r.status_code != 202 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(r.status_code == 200, f'export status: {describe(r)}')
    exported = {}
    for output in r.json().get('output', []):
        lines = cbo.session.get(output['url'], timeout=30).text.splitlines()
        exported[output['type']] = sorted(json.loads(line)['id'] for line in lines if line)
    check(exported == {'Communication': both, 'Procedure': [ids['gravity-medrec-1']]},
          f'exported {exported}')

    capability = expect(hospital.get('/metadata'), 200, 'GET metadata')
    served = {r['type']: [i['code'] for i in r['interaction']]
              for r in capability['rest'][0]['resource']}
    for kind in ('Communication', 'Procedure'):
        check(kind in served and 'create' in served[kind] and 'vread' in served[kind],
              f'metadata {kind}: {served.get(kind)}')


def validate(saved):
    node = shutil.which('node')
    check(node is not None, 'node is not installed (deploy/install_deps.sh)')
    check(os.path.isdir(os.path.join(HERE, 'fhir', 'node_modules',
                                     '@asymmetrik', 'fhir-json-schema-validator')),
          'tests/fhir/node_modules is missing: run deploy/install_deps.sh '
          '(npm ci --prefix tests/fhir)')
    files = sorted(os.path.join(saved, f) for f in os.listdir(saved))
    done = subprocess.run([node, VALIDATE_JS] + files, capture_output=True, text=True, timeout=120)
    sys.stdout.write(done.stdout[-20000:])
    sys.stderr.write(done.stderr)
    check(done.returncode == 0, 'resources the server returned are not valid FHIR R4 '
          '(the lines above)')


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    caselined, caseline = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix='fhir-gravity-')
    saved = sys.argv[3] if len(sys.argv) == 4 else os.path.join(work, 'answers')
    shutil.rmtree(saved, ignore_errors=True)
    os.makedirs(saved)
    server = Server(caselined, caseline, work)
    ok = False
    try:
        server.start()
        try:
            run(server, work, saved)
        finally:
            # Validate what was returned even when a step failed: schema errors
            # are part of the report.
            try:
                validate(saved)
                valid = True
            except Failure as e:
                print(f'FAIL: {e}', file=sys.stderr)
                valid = False
        server.stop()
        ok = valid
    except Failure as e:
        print(f'FAIL: {e}', file=sys.stderr)
    except Exception:
        traceback.print_exc()
    finally:
        server.kill()
        if not ok:
            try:
                with open(os.path.join(work, 'caselined.log')) as f:
                    log = f.read()
                if log:
                    print('caselined log (tail):\n' + log[-3000:], file=sys.stderr)
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)
    if ok:
        print('fhir_gravity: the Gravity referral workflow behaved as docs/fhir.md says')
        return 0
    return 1


if __name__ == '__main__':
    sys.exit(main())
