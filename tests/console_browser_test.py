#!/usr/bin/python3
"""The web console (docs/console.md) in headless Chromium, against a real caselined.

Usage: console_browser_test.py CASELINED CASELINE OUTPUT_DIR [SCENARIO...]

Starts one caselined (gRPC and --http_listen on loopback port 0, with an
--access_config naming the demo's organisations, an auditor and an
organisation involved in nothing), loads `caseline demo --clients 40`, and
drives two browser sessions (two Chromium profiles: two people) through the
scenarios of issue 15:

  planner_claims_and_refers  the "done means" path: a planner of the demo's
      hospital sees its worklist with discharges without an accepted
      receiver, claims one and a colleague's open worklist shows the claim;
      the planner opens the client, records a consent and sends a referral;
      the receiving agency accepts it from its inbox and the planner's open
      case page shows it accepted.
  live_discharge  a discharge recorded over gRPC (the caseline CLI) appears on
      the open worklist without a reload.
  uninvolved_and_break_glass  an uninvolved organisation's pages show nothing
      of a client; it breaks the glass; an auditor marks that access reviewed,
      verifies the chain and opens a printable accounting of disclosures.
  other_pages  duplicates review (with the match model panel), measures and
      caseload render.

A screenshot of each page goes to OUTPUT_DIR (and one named FAILED-... when
a scenario fails). Only explicit waits with short timeouts, no sleeps: the
whole run takes well under a minute. Uses Debian's chromium and
chromium-driver through python3-selenium; nothing is downloaded.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 10  # seconds, the most any one expected change may take

MERCY = 'org-mercy-general'
AUDITOR = 'org-state-privacy-office'
UNINVOLVED = 'org-lakeside-clinic'
DEMO_ORGS = [
    MERCY, 'org-eastside-health', 'org-harbor-behavioral', 'org-new-dawn-recovery',
    'org-cityhome-housing', 'org-metro-legal-aid', 'org-county-court-parole',
    'org-state-corrections', 'org-riverside-schools', 'org-statewide-health-plan',
    'org-county-social-services', 'org-homecare-partners', 'org-community-action',
]
DISCHARGE_GAP_KIND = 'WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER'
# What the planner refers a client to each receiving organisation for, and the
# data class (its label on the forms) that referral shares.
RECEIVER_SERVICE = {
    'org-harbor-behavioral': ('SERVICE_CATEGORY_MENTAL_HEALTH', 'Mental health'),
    'org-homecare-partners': ('SERVICE_CATEGORY_IN_HOME_CARE', 'General'),
    'org-cityhome-housing': ('SERVICE_CATEGORY_HOUSING', 'Housing'),
    'org-new-dawn-recovery': ('SERVICE_CATEGORY_SUBSTANCE_USE', 'Substance use'),
    'org-eastside-health': ('SERVICE_CATEGORY_HEALTH_CARE', 'General'),
}
A_SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
# The fields of the match model, in FieldComparison order (views.proto).
MATCH_FIELDS = ['given_name', 'family_name', 'birth_date', 'sex', 'phone', 'address', 'identifier']


def probability(text):
    """True when `text` is a probability as the duplicates page prints one
    ("0.95", "1e-6", "> 0.999")."""
    try:
        return 0 < float(text.replace('> ', '')) <= 1
    except ValueError:
        return False


class Failure(Exception):
    pass


def wait_for_file(path, process, seconds=30):
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
    """One caselined with gRPC and the console on loopback port 0."""

    def __init__(self, caselined, caseline, work):
        self.caselined = caselined
        self.caseline_bin = caseline
        self.work = work
        self.process = None

    def start(self):
        access = {'organizations': {org: ['agency'] for org in DEMO_ORGS + [UNINVOLVED]}}
        access['organizations'][AUDITOR] = ['auditor']
        config = os.path.join(self.work, 'access.json')
        with open(config, 'w') as f:
            json.dump(access, f)
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
        self.url = 'http://' + wait_for_file(http_file, self.process) + '/'

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
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

    def command(self, method, body, org, user='test.runner'):
        out = self.cli('command', method, org=org, user=user, stdin=json.dumps(body))
        return json.loads(out)

    def summary(self, client_id, org=AUDITOR):
        return json.loads(self.cli('summary', '--client', client_id, org=org, user='test.runner'))


class Browser:
    """One person's Chromium (its own profile, so its own session cookie)."""

    def __init__(self, name, server, out_dir, work):
        self.name = name
        self.server = server
        self.out_dir = out_dir
        options = webdriver.ChromeOptions()
        options.binary_location = '/usr/bin/chromium'
        for arg in ['--headless=new', '--window-size=1366,768', '--disable-gpu',
                    '--no-first-run', '--no-default-browser-check', '--disable-extensions',
                    '--disable-background-networking', '--disable-component-update',
                    '--disable-sync', '--disable-dev-shm-usage', '--lang=en-US',
                    f'--user-data-dir={os.path.join(work, "profile-" + name)}']:
            options.add_argument(arg)
        if os.geteuid() == 0:
            options.add_argument('--no-sandbox')
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        self.driver = webdriver.Chrome(
            service=Service(executable_path='/usr/bin/chromedriver'), options=options)
        self.driver.set_script_timeout(WAIT)

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # already gone
            pass

    # --- waiting and finding ---

    def wait(self, condition, what, timeout=WAIT):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=[StaleElementReferenceException]).until(
                lambda d: condition())
        except TimeoutException:
            raise Failure(f'{self.name}: waited {timeout} s for {what}') from None

    def find(self, css, within=None):
        found = (within or self.driver).find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def find_all(self, css, within=None):
        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def wait_css(self, css, timeout=WAIT, within=None):
        return self.wait(lambda: self.find(css, within), css, timeout)

    def wait_text(self, css, text, timeout=WAIT):
        def has():
            el = self.find(css)
            return el if el is not None and text in el.text else None
        return self.wait(has, f'"{text}" in {css}', timeout)

    def act(self, css, what, action):
        """Does `action` to the element at `css`, found afresh: a live refresh
        may replace a list's rows between finding one and acting on it."""
        def attempt():
            el = self.find(css)
            if el is None:
                return None
            try:
                action(el)
                return True
            except StaleElementReferenceException:
                return None
        self.wait(attempt, f'to {what} {css}')

    def text_of(self, css):
        """The text of the element at `css`, waited for and read afresh."""
        texts = []
        self.act(css, 'read', lambda el: texts.append(el.text))
        return texts[-1]

    def click(self, css):
        self.act(css, 'click', lambda el: el.click())

    def type(self, css, text):
        self.act(css, 'type into', lambda el: el.send_keys(text))

    def text(self):
        return self.driver.find_element(By.TAG_NAME, 'body').text

    def shot(self, name, show=None):
        """Saves the viewport as OUTPUT_DIR/<name>.png, scrolled to the element
        at CSS selector `show` when given (found afresh: a live refresh may
        replace it); first checks that every control on the page has a label."""
        unlabelled = self.driver.execute_script("""
            return [...document.querySelectorAll('input, select, textarea')]
              .filter((e) => e.type !== 'hidden' && !e.labels.length &&
                             !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
              .map((e) => e.outerHTML.slice(0, 160));""")
        if unlabelled:
            raise Failure(f'{self.name}: controls without a label on {name}: {unlabelled}')
        if show is not None:
            self.act(show, 'scroll to', lambda el: self.driver.execute_script(
                'arguments[0].scrollIntoView({block: "center"})', el))
        self.driver.save_screenshot(os.path.join(self.out_dir, f'{name}.png'))

    def browser_errors(self):
        """Console errors since the last call: script errors, CSP violations, failed requests."""
        errors = []
        for entry in self.driver.get_log('browser'):
            if entry['level'] != 'SEVERE':
                continue
            message = entry['message']
            # A refused API call is an answer the page shows, not a page error.
            if '/api/v1/' in message and 'Failed to load resource' in message:
                continue
            if 'favicon.ico' in message:
                continue
            errors.append(message)
        return errors

    # --- the console ---

    def open(self, route):
        self.driver.get(self.server.url + route)

    def route(self, route):
        """Follows an in-page link's route without reloading the page."""
        self.driver.execute_script('window.location.hash = arguments[0]', route)

    def sign_in(self, org, user, discipline='SOCIAL_WORK', purpose='CARE_COORDINATION'):
        self.open('#/signin')
        self.wait(lambda: self.find('#signin-form') or self.find('#sign-out'), 'the sign-in page')
        if not self.find('#signin-form'):
            self.driver.find_element(By.ID, 'sign-out').click()
            self.wait_css('#signin-form')
        Select(self.driver.find_element(By.ID, 'signin-org')).select_by_value(org)
        user_field = self.driver.find_element(By.ID, 'signin-user')
        user_field.clear()
        user_field.send_keys(user)
        Select(self.driver.find_element(By.ID, 'signin-discipline')).select_by_value(discipline)
        Select(self.driver.find_element(By.ID, 'signin-purpose')).select_by_value(purpose)
        self.driver.find_element(By.ID, 'signin-submit').click()
        self.wait(lambda: self.find('#sign-out') and not self.find('#signin-form'),
                  f'signed in as {user} of {org}')
        def live():
            el = self.find('#live-status')
            return el is not None and el.get_attribute('data-status') == 'live'
        self.wait(live, 'the live-update stream')


class Suite:
    def __init__(self, server, out_dir, work):
        self.server = server
        self.out_dir = out_dir
        self.work = work
        self.planner = None
        self.colleague = None

    def browsers(self):
        if self.planner is None:
            self.planner = Browser('planner', self.server, self.out_dir, self.work)
            self.colleague = Browser('colleague', self.server, self.out_dir, self.work)
        return self.planner, self.colleague

    def close(self):
        for b in (self.planner, self.colleague):
            if b:
                b.quit()

    def check_no_page_errors(self, *browsers):
        for b in browsers:
            errors = b.browser_errors()
            if errors:
                raise Failure(f'{b.name}: errors in the page: {errors}')

    # --- the scenarios ---

    def planner_claims_and_refers(self):
        planner, colleague = self.browsers()
        planner.sign_in(MERCY, 'mercy.rivera')
        planner.open('#/worklist')
        planner.wait_css('tr.worklist-item')
        planner.shot('worklist')
        # Read in one script: a live refresh may replace the rows meanwhile.
        gaps = planner.driver.execute_script(
            'return [...document.querySelectorAll(arguments[0])].map('
            '(r) => [r.getAttribute("data-client"), r.getAttribute("data-subject")])',
            f'tr.worklist-item[data-kind="{DISCHARGE_GAP_KIND}"]')
        if not gaps:
            raise Failure('the hospital worklist shows no discharge without an accepted receiver')
        # The first such item about a planned transition whose client the
        # hospital is involved with (it may act on the client: docs/access.md
        # "Involvement"; a facility alone is not involved).
        item = None
        for client, subject in gaps:
            summary = self.server.summary(client)['summary']
            involvement = next((c['involvement'] for c in summary.get('consent_coverage', [])
                                if c['organization_id'] == MERCY), [])
            receiver = next((t['to_organization_id'] for t in summary['state'].get('transitions', [])
                             if t['transition_id'] == subject), None)
            if receiver and set(involvement) - {'facility'}:
                item = (client, subject, receiver)
                break
        if item is None:
            raise Failure('no discharge-without-receiver item of a client the hospital is involved with')
        client, subject, receiver = item
        category, data_class = RECEIVER_SERVICE.get(receiver, ('SERVICE_CATEGORY_HEALTH_CARE', 'General'))
        row_css = (f'tr.worklist-item[data-kind="{DISCHARGE_GAP_KIND}"][data-client="{client}"]'
                   f'[data-subject="{subject}"]')

        colleague.sign_in(MERCY, 'mercy.nguyen')
        colleague.open('#/worklist')
        colleague.wait_css(row_css + ' .claim-state[data-claimant=""]')

        planner.click(row_css + ' button[data-action="ClaimWorklistItem"]')
        planner.wait_css(row_css + ' .claim-state[data-claimant="mercy.rivera"]')
        # The colleague's page was not reloaded: the claim arrives live.
        colleague.wait_css(row_css + ' .claim-state[data-claimant="mercy.rivera"]')
        colleague.shot('worklist-colleague-sees-claim', show=row_css)
        planner.shot('worklist-claimed', show=row_css)
        # Filter by claimant: only the planner's item is left.
        Select(planner.find('#wl-claimant')).select_by_value('me')
        planner.wait(lambda: len(planner.find_all('tr.worklist-item')) >= 1 and all(
            r.get_attribute('data-claimant') == 'mercy.rivera' for r in planner.find_all('tr.worklist-item')),
            'the claimant filter')
        Select(planner.find('#wl-claimant')).select_by_value('')

        # The planner opens the client from the worklist.
        planner.click(row_css + ' a.client-link')
        planner.wait(lambda: planner.find('.client-state section') and planner.find('#form-send-referral'),
                     'the case page')
        planner.shot('client')

        # A consent for the receiver first (the referral shares data of its
        # service's class).
        consent = planner.find('details[data-form="form-consent"]')
        consent.find_element(By.TAG_NAME, 'summary').click()
        form = planner.find('#form-consent')
        self.fill_labelled(form, 'Recipient organisations, by id (comma-separated)', receiver)
        self.tick(form, 'General', group='Data it covers')
        self.tick(form, data_class, group='Data it covers')
        self.fill_labelled(form, 'Document id', 'consent-scan-001.pdf')
        self.fill_labelled(form, 'SHA-256 of the document', A_SHA256)
        self.tick(form, 'I attest that')
        form.find_element(By.CSS_SELECTOR, 'button[type=submit]').click()
        planner.wait_text('#form-consent .form-result', 'recorded')

        # The referral.
        details = planner.find('details[data-form="form-send-referral"]')
        details.find_element(By.TAG_NAME, 'summary').click()
        form = planner.find('#form-send-referral')
        referral_id = form.find_element(By.XPATH, './/label[text()="Referral id"]/following-sibling::input').get_attribute('value')
        self.fill_labelled(form, 'To organisation', receiver)
        self.select_labelled(form, 'Service', category)
        self.fill_labelled(form, 'Reason', 'continuing care after discharge')
        self.tick(form, data_class, group='Data shared')
        form.find_element(By.CSS_SELECTOR, 'button[type=submit]').click()
        planner.wait_text('#form-send-referral .form-result', 'sent')
        referral_row = f'tr.referral-row[data-referral="{referral_id}"]'
        planner.shot('client-referral-sent', show=referral_row + '[data-status="requested"]')

        # The receiving agency accepts it from its inbox.
        colleague.sign_in(receiver, 'intake.worker')
        colleague.open('#/inbox')
        entry = f'tr.inbox-entry[data-client="{client}"][data-referral="{referral_id}"]'
        colleague.wait_css(entry)
        text = colleague.text_of(entry)
        if 'ago' not in text:
            raise Failure(f'the inbox entry does not say how long ago it was sent: {text!r}')
        colleague.shot('inbox')
        colleague.click(entry + ' button[data-action="AcceptReferral"]')
        colleague.wait_css(entry + '[data-status="accepted"]')
        colleague.shot('inbox-accepted')
        # The sender's open case page shows it accepted (closed loop), live.
        planner.wait_css(referral_row + '[data-status="accepted"]')
        planner.shot('client-referral-accepted', show=referral_row)
        # The receiver accepted: the gap is closed and the item leaves the
        # hospital's worklist.
        planner.route('#/worklist')
        planner.wait_css('tr.worklist-item')
        planner.wait(lambda: not planner.find(row_css), 'the closed gap to leave the worklist')
        self.check_no_page_errors(planner, colleague)

    def live_discharge(self):
        planner, _ = self.browsers()
        planner.sign_in(MERCY, 'mercy.rivera')
        client = 'console-live-1'
        self.server.command('Clients.RegisterClient', {
            'command_id': 'live-reg', 'client_id': client,
            'client_registered': {'name': {'given': 'Lena', 'family': 'Marsh'}}}, MERCY)
        self.server.command('Transitions.RecordAdmission', {
            'command_id': 'live-adm', 'client_id': client,
            'occurred_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 3 * 86400)),
            'admission_recorded': {'admission_id': 'adm-1', 'facility_organization_id': MERCY,
                                   'level_of_care': 'LEVEL_OF_CARE_INPATIENT',
                                   'primary_need': 'SERVICE_CATEGORY_MENTAL_HEALTH'}}, MERCY)
        planner.open('#/worklist')
        planner.wait_css('tr.worklist-item')
        planner.driver.execute_script('window.__notReloaded = true')
        if planner.find(f'tr.worklist-item[data-client="{client}"]'):
            raise Failure('the client is on the worklist before its discharge')
        self.server.command('Transitions.RecordDischarge', {
            'command_id': 'live-dis', 'client_id': client,
            'discharge_recorded': {'admission_id': 'adm-1', 'disposition': 'DISCHARGE_DISPOSITION_HOME'}}, MERCY)
        row = f'tr.worklist-item[data-client="{client}"]'
        planner.wait_css(row)
        if not planner.driver.execute_script('return window.__notReloaded === true'):
            raise Failure('the worklist page was reloaded')
        planner.shot('worklist-live-discharge', show=row)
        self.check_no_page_errors(planner)

    def entered_in_error(self):
        """A referral the hospital sent to the wrong client, marked entered in
        error: the case page keeps it on the timeline, struck through and
        named, and the summary no longer lists it."""
        planner, _ = self.browsers()
        client = 'scenario-stroke'
        self.server.command('Referrals.SendReferral', {
            'command_id': 'eie-ref', 'client_id': client,
            'referral_sent': {'referral_id': 'ref-wrong', 'to_organization_id': 'org-community-action',
                              'service_category': 'SERVICE_CATEGORY_FOOD',
                              'kind': 'REFERRAL_KIND_WARM'}}, MERCY)
        event_id = None
        for line in self.server.cli('timeline', '--client', client, '--type', 'ReferralSent',
                                    org=AUDITOR, user='test.runner').splitlines():
            entry = json.loads(line)
            if entry.get('event', {}).get('referral_sent', {}).get('referral_id') == 'ref-wrong':
                event_id = entry['event_id']
        if event_id is None:
            raise Failure('the referral is not on the timeline')
        self.server.command('Clients.MarkEnteredInError', {
            'command_id': 'eie-mark', 'client_id': client,
            'event_entered_in_error': {'event_id': event_id, 'reason': 'meant for another patient'}}, MERCY)
        planner.sign_in(MERCY, 'mercy.rivera')
        planner.open(f'#/client/{client}')
        row = 'tr.timeline-entered-in-error'
        row_text = planner.text_of(row)
        if 'Entered in error' not in row_text or 'meant for another patient' not in row_text:
            raise Failure(f'the marked row reads {row_text!r}')
        state = planner.driver.execute_script(
            'const e = document.querySelector(".client-state"); return e ? e.innerText : ""')
        if 'ref-wrong' in state:
            raise Failure('the case page still shows the marked referral')
        summary = self.server.summary(client)['summary']
        if any(r['referral_id'] == 'ref-wrong' for r in summary['state'].get('referrals', [])):
            raise Failure('the summary still lists the marked referral')
        planner.shot('timeline-entered-in-error', show=row)
        self.check_no_page_errors(planner)

    def uninvolved_and_break_glass(self):
        planner, colleague = self.browsers()
        client = 'scenario-stroke'
        name = self.server.summary(client)['summary']['state']['details']['name']
        self.server.command('Organizations.RegisterOrganization', {
            'command_id': 'lakeside', 'organization_registered': {
                'organization_id': UNINVOLVED, 'name': 'Lakeside Clinic',
                'type': 'ORGANIZATION_TYPE_PRIMARY_CARE'}}, UNINVOLVED)
        colleague.sign_in(UNINVOLVED, 'lakeside.doe', discipline='MEDICINE')
        colleague.open(f'#/client/{client}')
        colleague.wait_css('[data-state="refused"] .refusal')
        for worded in (name['family'], name['given']):
            if worded in colleague.text():
                raise Failure(f'the uninvolved organisation sees {worded!r} on the case page')
        colleague.shot('uninvolved-client')
        colleague.route('#/worklist')
        colleague.wait_css('.worklist-body .empty')
        colleague.route('#/inbox')
        colleague.wait_css('.inbox-body [data-group]')
        if colleague.find_all('tr.inbox-entry') or name['family'] in colleague.text():
            raise Failure('the uninvolved organisation has entries in its inbox')
        # An emergency: it breaks the glass for one read.
        colleague.route(f'#/client/{client}')
        colleague.wait_css('#break-glass-form')
        colleague.find('#break-glass-reason').send_keys('unresponsive in our clinic, no history')
        colleague.find('#break-glass-reason').send_keys(Keys.ENTER)
        colleague.wait_css('.break-glass-banner')
        colleague.wait_text('h1.client-name', name['family'])
        colleague.shot('break-glass-read')

        planner.sign_in(AUDITOR, 'auditor.kaye')
        planner.open('#/audit')
        access = f'tr.access-entry[data-client="{client}"]'
        planner.wait_css('.overrides ' + access)
        planner.wait_css('.refused ' + access)  # the refused read before it
        planner.shot('audit')
        planner.type('.overrides ' + access + ' input', 'emergency confirmed with the clinic')
        planner.click('.overrides ' + access + ' button[data-action="review"]')
        planner.wait(lambda: not planner.find('.overrides ' + access), 'the reviewed access to leave the queue')
        planner.find('#bg-include-reviewed').click()
        planner.wait_text('.overrides ' + access, 'emergency confirmed with the clinic')
        planner.shot('audit-reviewed')
        planner.find('#verify-chain').click()
        head = '.verify-result code.head-hash'
        head_text = planner.text_of(head)
        if len(head_text) != 64:
            raise Failure(f'head hash {head_text!r}')
        planner.shot('audit-chain', show=head)
        planner.open('#/disclosures/scenario-foster-teen-1')
        planner.wait_css('tr.disclosure')
        if 'court order' not in planner.text():
            raise Failure('the accounting of disclosures lacks the court-ordered release')
        planner.shot('disclosures')
        planner.driver.execute_cdp_cmd('Emulation.setEmulatedMedia', {'media': 'print'})
        if planner.find('header').is_displayed() or planner.find('#print-report').is_displayed():
            raise Failure('the printed report shows the navigation or buttons')
        planner.shot('disclosures-print')
        planner.driver.execute_cdp_cmd('Emulation.setEmulatedMedia', {'media': ''})
        self.check_no_page_errors(planner, colleague)

    def other_pages(self):
        planner, _ = self.browsers()
        # Two registrations of one person by one agency: a possible duplicate
        # it reviews and dismisses (they are twins).
        agency = 'org-eastside-health'
        for client_id, given in (('twin-a', 'Mara'), ('twin-b', 'Maya')):
            self.server.command('Clients.RegisterClient', {
                'command_id': f'reg-{client_id}', 'client_id': client_id, 'client_registered': {
                    'name': {'given': given, 'family': 'Lindqvist'},
                    'birth_date': {'year': 1990, 'month': 4, 'day': 2}, 'sex': 'SEX_FEMALE',
                    'phone': '+1-541-555-0199',
                    'address': {'line1': '12 Birch Rd', 'city': 'Eastport', 'postal_code': '97471'}}},
                agency)
            # A finding shows only what a consent covers for the reader, its
            # own registrations too (docs/access.md "Per read").
            self.server.command('Consents.GiveConsent', {
                'command_id': f'consent-{client_id}', 'client_id': client_id, 'consent_given': {
                    'consent_id': 'k-1', 'recipient_organization_ids': [agency],
                    'data_classes': ['DATA_CLASS_GENERAL'], 'method': 'CONSENT_METHOD_SIGNED_FORM',
                    'document': {'document_id': 'intake-consent.pdf', 'sha256': A_SHA256}}}, agency)
        planner.sign_in(agency, 'eastside.lopez', discipline='NURSING')
        planner.open('#/duplicates')
        finding = 'article.finding[data-finding="duplicate-clients:twin-a:twin-b"]'
        planner.wait_css(finding)
        if not planner.find_all(finding + ' .comparison-table tr[data-field]'):
            raise Failure('the possible duplicate has no per-field explanation')
        # Each field compared shows the model's m and u for its level (a
        # missing one "—"), and the finding says which model scored it. Read
        # in one script: a live refresh may replace the rows meanwhile.
        rows = planner.driver.execute_script("""
            return [...document.querySelectorAll(arguments[0] + ' .comparison-table tr[data-field]')]
              .map((r) => [r.dataset.field, r.dataset.agreement,
                           r.querySelector('.m-probability')?.textContent ?? '',
                           r.querySelector('.u-probability')?.textContent ?? '']);""", finding)
        compared = [r for r in rows if r[1] != 'FIELD_AGREEMENT_MISSING']
        if not compared or not all(probability(m) and probability(u) for _, _, m, u in compared):
            raise Failure(f'the comparison table lacks m and u: {rows}')
        if not planner.text_of(finding + ' .scored-with').startswith('Scored with the '):
            raise Failure('the possible duplicate does not say which match model scored it')
        planner.shot('duplicates', show=finding)
        # The match model panel: every field's levels with m, u and weight.
        planner.wait_css('#match-model tbody[data-field]')
        planner.click('#match-model > summary')
        levels = planner.driver.execute_script("""
            return [...document.querySelectorAll('#match-model tr[data-field][data-agreement]')]
              .map((r) => [r.dataset.field, r.querySelector('.m-probability')?.textContent ?? '',
                           r.querySelector('.u-probability')?.textContent ?? '']);""")
        fields = list(dict.fromkeys(f for f, _, _ in levels))
        if fields != MATCH_FIELDS or not all(probability(m) and probability(u) for _, m, u in levels):
            raise Failure(f'the match model panel shows {levels}')
        planner.shot('duplicates-model', show='#match-model > summary')
        planner.type(finding + ' input', 'twins: two people, confirmed by phone')
        planner.click(finding + ' button[data-action="dismiss"]')
        planner.wait(lambda: not planner.find(finding), 'the dismissed finding to leave the open list')

        planner.sign_in(MERCY, 'mercy.rivera')
        planner.open('#/measures')
        planner.wait_css('section.measure[data-measure="FUH-7"]')
        planner.wait_css('canvas#measures-chart[data-drawn]')
        planner.shot('measures')
        planner.find('section.measure[data-measure="FUH-30"] details[data-list="denominator"] summary').click()
        link = planner.find('section.measure[data-measure="FUH-30"] details[data-list="denominator"] a.client-link')
        if link is not None:
            link.click()
            planner.wait_css('.client-state section')
        planner.route('#/caseload')
        planner.wait_css('tr.worker')
        Select(planner.find('#caseload-scope')).select_by_value('all')
        planner.type('#caseload-threshold', '4')
        planner.click('#caseload-form button[type=submit]')
        planner.wait_css('tr.worker[data-above="true"]')
        planner.wait_css('canvas#caseload-chart[data-drawn]')
        planner.shot('caseload')
        # Keyboard: on a freshly opened page the first Tab reaches the skip
        # link, which moves focus to the content without changing the route.
        planner.open('#/caseload')
        planner.driver.refresh()
        planner.wait_css('tr.worker')
        ActionChains(planner.driver).send_keys(Keys.TAB).perform()
        if planner.driver.execute_script('return document.activeElement.textContent') != 'Skip to content':
            raise Failure('the first Tab does not reach the skip link')
        planner.driver.switch_to.active_element.send_keys(Keys.ENTER)
        if planner.driver.execute_script('return [document.activeElement.id, location.hash]') != ['main', '#/caseload']:
            raise Failure('the skip link does not move focus to the content')
        # The nav offers an agency its pages, not the auditor's.
        links = planner.find_all('#nav-pages a.nav-link')
        names = {l.get_attribute('data-route') for l in links}
        if names != {'worklist', 'inbox', 'client', 'duplicates', 'measures', 'caseload'}:
            raise Failure(f'an agency\'s nav shows {sorted(names)}')
        self.check_no_page_errors(planner)

    # --- form helpers ---

    def fill_labelled(self, form, label, value):
        el = form.find_element(By.XPATH, f'.//label[starts-with(normalize-space(.), "{label}")]')
        control = form.find_element(By.ID, el.get_attribute('for'))
        control.clear()
        control.send_keys(value)

    def select_labelled(self, form, label, value):
        el = form.find_element(By.XPATH, f'.//label[normalize-space(.)="{label}"]')
        Select(form.find_element(By.ID, el.get_attribute('for'))).select_by_value(value)

    def tick(self, form, label, group=None):
        scope = f'.//fieldset[legend[starts-with(normalize-space(.), "{group}")]]' if group else '.'
        el = form.find_element(By.XPATH, f'{scope}//label[starts-with(normalize-space(.), "{label}")]')
        box = form.find_element(By.ID, el.get_attribute('for'))
        if not box.is_selected():
            box.click()


SCENARIOS = ['planner_claims_and_refers', 'live_discharge', 'entered_in_error', 'uninvolved_and_break_glass',
             'other_pages']


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    caselined, caseline, out_dir = argv[1:4]
    wanted = argv[4:] or SCENARIOS
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix='console-browser-')
    server = Server(caselined, caseline, work)
    suite = Suite(server, out_dir, work)
    failed = []
    started = time.monotonic()
    try:
        server.start()
        # 40 synthetic clients: the fewest for which the hospital's worklist
        # holds a discharge without an accepted receiver that it may act on.
        server.cli('demo', '--clients', '40')
        print(f'caselined and the demo ready in {time.monotonic() - started:.1f} s', flush=True)
        for name in wanted:
            t0 = time.monotonic()
            try:
                getattr(suite, name)()
                print(f'PASS {name} ({time.monotonic() - t0:.1f} s)', flush=True)
            except Exception as err:  # report every scenario, then fail
                failed.append(name)
                print(f'FAIL {name}: {err}', flush=True)
                traceback.print_exc()
                for b in (suite.planner, suite.colleague):
                    if b is not None:
                        try:
                            b.shot(f'FAILED-{name}-{b.name}')
                        except Exception:
                            pass
    finally:
        suite.close()
        server.stop()
        if failed:
            print(f'caselined log kept in {work}', flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f'{len(wanted) - len(failed)} of {len(wanted)} scenarios passed in '
          f'{time.monotonic() - started:.1f} s; screenshots in {out_dir}', flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
