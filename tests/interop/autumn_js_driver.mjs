// Runs interop flows with Autumn's TypeScript SDK (npm autumn-js, which bundles
// @useautumn/sdk) against an Autumn server, and prints one JSON line per check:
//   {"flow": ..., "name": ..., "passed": true|false, "detail": ...}
//
//   node autumn_js_driver.mjs [--server-url URL] [--secret-key KEY] FLOW[=URL]...
//   node autumn_js_driver.mjs --list
//
// FLOW=URL runs that flow against its own server (one process, many fresh
// servers: node's start-up is paid once). URL and key default to
// AUTUMN_SERVER_URL / AUTUMN_SECRET_KEY; the SDK is
// loaded from AUTUMN_PEER_NODE_MODULES (default: .peers/node/node_modules next
// to this file, where install.py puts it). Exit status: 0 when every check
// passed, 1 when one failed, 2 on bad usage.
//
// autumn-js exports the throwing `Autumn` class (and the error classes) but
// not `AutumnCore` nor the standalone functions: its `Autumn` methods are
// those functions unwrapped, so the same request, response schemas and
// error classes are exercised. Every answer must parse with the SDK's own
// zod schemas: a ResponseValidationError is a failed check, and the values are
// then still read from the raw answer so the arithmetic checks stay informative.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const CUSTOMER = "cus_123";
const FEATURE = "api_calls";
const WORDS = "words"; // metered, sent by the "generation" event; credits draw on it
const AI_CREDITS = "ai_credits"; // an AI credit system with a 20 % default markup
const API_VERSION = "2.1";

const { values: opts, positionals: requested } = parseArgs({
  options: {
    "server-url": { type: "string" },
    "secret-key": { type: "string" },
    list: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

const nodeModules =
  process.env.AUTUMN_PEER_NODE_MODULES ??
  join(dirname(fileURLToPath(import.meta.url)), ".peers", "node", "node_modules");

async function loadSdk() {
  // Resolve the package's own "import" entry point, as a bare import would
  // from a project that depends on autumn-js.
  const dir = join(nodeModules, "autumn-js");
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  return import(pathToFileURL(join(dir, pkg.exports["."].import)).href);
}

// ---- recording checks -------------------------------------------------------

class Recorder {
  constructor(flow) {
    this.flow = flow;
    this.failed = 0;
  }

  check(name, passed, detail = "") {
    if (!passed) this.failed += 1;
    const line = { flow: this.flow, name, passed: Boolean(passed), detail: String(detail) };
    process.stdout.write(JSON.stringify(line) + "\n");
  }

  equal(name, actual, expected, note = "") {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    this.check(name, a === e, `got ${a}, expected ${e}${note}`);
  }
}

// A field of a parsed answer (camelCase) or of a raw one (snake_case).
function field(obj, snake) {
  if (obj === null || obj === undefined) return undefined;
  if (snake in obj) return obj[snake];
  const camel = snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return obj[camel];
}

function describe(error) {
  if (error instanceof sdk.ResponseValidationError) return error.pretty();
  if (error instanceof sdk.AutumnError) return `${error.name} ${error.statusCode}: ${error.body}`;
  return `${error?.name ?? "Error"}: ${error?.message ?? error}`;
}

// A call that must succeed. Returns {value, raw}: value is the parsed answer,
// or the raw JSON when the SDK's schema refused it (raw = true), or undefined.
async function expectOk(rec, what, call) {
  try {
    const value = await call();
    rec.check(`${what}: answered 200 and parsed with the SDK's schema`, true);
    return { value, raw: false };
  } catch (error) {
    rec.check(`${what}: answered 200 and parsed with the SDK's schema`, false, describe(error));
    if (error instanceof sdk.ResponseValidationError) return { value: error.rawValue, raw: true };
    return { value: undefined, raw: false };
  }
}

// A call that must fail with an Autumn error of this status and code.
async function expectError(rec, what, status, code, call) {
  const name = `${what}: ${status} ${code}`;
  let value;
  try {
    value = await call();
  } catch (error) {
    if (!(error instanceof sdk.AutumnDefaultError)) {
      rec.check(name, false, `expected AutumnDefaultError, got ${describe(error)}`);
      return;
    }
    let body;
    try {
      body = JSON.parse(error.body);
    } catch {
      rec.check(name, false, `status ${error.statusCode}, body is not JSON: ${error.body}`);
      return;
    }
    const keys = Object.keys(body ?? {}).sort().join(",");
    const passed =
      error.statusCode === status && body.code === code && keys === "code,env,message";
    rec.check(name, passed, `status ${error.statusCode}, body ${error.body}`);
    return;
  }
  rec.check(name, false, `expected an error, got success: ${JSON.stringify(value)}`);
}

// ---- reading views ----------------------------------------------------------

function rawNote(answer) {
  return answer.raw ? " (read from the raw answer the SDK refused)" : "";
}

function totals(balance) {
  return [field(balance, "granted"), field(balance, "remaining"), field(balance, "usage")];
}

async function readBalance(rec, autumn, what, featureId = FEATURE) {
  const answer = await expectOk(rec, `customers.get ${what}`, () =>
    autumn.customers.get({ customerId: CUSTOMER }),
  );
  const balance = field(field(answer.value, "balances"), featureId);
  return { balance, note: rawNote(answer), view: answer.value };
}

async function expectTotals(rec, autumn, what, expected) {
  const { balance, note } = await readBalance(rec, autumn, what);
  rec.equal(`${what}: ${FEATURE} granted/remaining/usage`, totals(balance), expected, note);
  return balance;
}

async function createApiCalls(rec, autumn, included) {
  const answer = await expectOk(rec, `balances.create ${FEATURE} includedGrant ${included}`, () =>
    autumn.balances.create({ customerId: CUSTOMER, featureId: FEATURE, includedGrant: included }),
  );
  rec.equal("balances.create answer", field(answer.value, "success"), true);
}

async function grant(rec, autumn, featureId, amount, extra = {}) {
  const answer = await expectOk(rec, `balances.create ${featureId} ${amount}`, () =>
    autumn.balances.create({ customerId: CUSTOMER, featureId, includedGrant: amount, ...extra }),
  );
  rec.equal(`balances.create ${featureId} answer`, field(answer.value, "success"), true);
}

async function update(rec, autumn, change) {
  const answer = await expectOk(rec, `balances.update ${JSON.stringify(change)}`, () =>
    autumn.balances.update({ customerId: CUSTOMER, featureId: FEATURE, ...change }),
  );
  const what = `balances.update ${JSON.stringify(change)} answer`;
  rec.equal(what, field(answer.value, "success"), true);
}

// ---- clients ----------------------------------------------------------------

let sdk;

// failOpen: false because by default the SDK turns a 5xx (or a network error)
// on check/track into a made-up 200 "allowed" answer, which would hide a
// server failure from these checks; it also installs its own HTTP client,
// ignoring the one given.
function client(options = {}) {
  return new sdk.Autumn({
    serverURL: serverUrl,
    secretKey: secretKey,
    xApiVersion: API_VERSION,
    failOpen: false,
    ...options,
  });
}

// A client whose requests carry `body` instead of what the SDK built: the
// SDK's own input schema refuses such bodies before sending, and the point is
// how it handles the server's 400.
function clientSending(body) {
  const httpClient = new sdk.HTTPClient();
  httpClient.addHook("beforeRequest", (request) => new Request(request, { body }));
  return client({ httpClient });
}

// ---- flows ------------------------------------------------------------------

const FLOWS = {
  async create_included_grant(rec) {
    const autumn = client();
    const answer = await expectOk(rec, "balances.create seed example", () =>
      autumn.balances.create({
        customerId: CUSTOMER,
        featureId: FEATURE,
        includedGrant: 1000,
        reset: { interval: "month" },
      }),
    );
    rec.equal("balances.create answer", field(answer.value, "success"), true);
    const { balance, note } = await readBalance(rec, autumn, "after create");
    rec.equal("granted/remaining/usage", totals(balance), [1000, 1000, 0], note);
    const breakdown = field(balance, "breakdown") ?? [];
    rec.equal("one breakdown entry", breakdown.length, 1, note);
    const entry = breakdown[0];
    rec.equal("breakdown included_grant", field(entry, "included_grant"), 1000, note);
    const reset = field(entry, "reset");
    rec.equal("breakdown reset interval", field(reset, "interval"), "month", note);
    const resetsAt = field(reset, "resets_at");
    rec.check(
      "breakdown reset resets_at is a future timestamp",
      typeof resetsAt === "number" && resetsAt > Date.now(),
      `resets_at ${resetsAt}${note}`,
    );
    const nextResetAt = field(balance, "next_reset_at");
    rec.equal("next_reset_at is the breakdown's resets_at", nextResetAt, resetsAt, note);
  },

  async create_one_off(rec) {
    const autumn = client();
    await createApiCalls(rec, autumn, 100);
    const { balance, note } = await readBalance(rec, autumn, "after a create without reset");
    rec.equal("granted/remaining/usage", totals(balance), [100, 100, 0], note);
    rec.equal("next_reset_at", field(balance, "next_reset_at"), null, note);
    const reset = field((field(balance, "breakdown") ?? [])[0], "reset");
    rec.equal(
      "breakdown reset of a one-off balance",
      [field(reset, "interval"), field(reset, "resets_at")],
      ["one_off", null],
      note,
    );
  },

  async update_remaining(rec) {
    const autumn = client();
    await createApiCalls(rec, autumn, 100);
    await expectTotals(rec, autumn, "after create", [100, 100, 0]);
    await update(rec, autumn, { remaining: 40 });
    await expectTotals(rec, autumn, "after remaining 40", [100, 40, 60]);
  },

  async update_add_to_balance(rec) {
    const autumn = client();
    await createApiCalls(rec, autumn, 100);
    await update(rec, autumn, { addToBalance: 50 });
    const balance = await expectTotals(rec, autumn, "after addToBalance 50", [100, 150, -50]);
    const entry = (field(balance, "breakdown") ?? [])[0];
    rec.equal(
      "breakdown included_grant/remaining/usage",
      [field(entry, "included_grant"), field(entry, "remaining"), field(entry, "usage")],
      [100, 150, -50],
    );
  },

  async update_usage(rec) {
    const autumn = client();
    await createApiCalls(rec, autumn, 100);
    await update(rec, autumn, { usage: 30 });
    await expectTotals(rec, autumn, "after usage 30", [100, 70, 30]);
  },

  async update_included_grant(rec) {
    // The reference's worked example: 100/100/0 -> add 50 -> 100/150/-50 ->
    // includedGrant 200 -> 200/150/50.
    const autumn = client();
    await createApiCalls(rec, autumn, 100);
    await expectTotals(rec, autumn, "after create", [100, 100, 0]);
    await update(rec, autumn, { addToBalance: 50 });
    await expectTotals(rec, autumn, "after addToBalance 50", [100, 150, -50]);
    await update(rec, autumn, { includedGrant: 200 });
    await expectTotals(rec, autumn, "after includedGrant 200", [200, 150, 50]);
  },

  async error_unknown_customer(rec) {
    const autumn = client();
    const nobody = "cus_nobody";
    await expectError(rec, "balances.create unknown customer", 404, "customer_not_found", () =>
      autumn.balances.create({ customerId: nobody, featureId: FEATURE, includedGrant: 10 }),
    );
    await expectError(rec, "balances.update unknown customer", 404, "customer_not_found", () =>
      autumn.balances.update({ customerId: nobody, featureId: FEATURE, remaining: 5 }),
    );
    await expectError(rec, "customers.get unknown customer", 404, "customer_not_found", () =>
      autumn.customers.get({ customerId: nobody }),
    );
  },

  async error_unknown_feature(rec) {
    const autumn = client();
    const nothing = "no_such_feature";
    await expectError(rec, "balances.create unknown feature", 404, "feature_not_found", () =>
      autumn.balances.create({ customerId: CUSTOMER, featureId: nothing, includedGrant: 10 }),
    );
    await expectError(rec, "balances.update unknown feature", 404, "feature_not_found", () =>
      autumn.balances.update({ customerId: CUSTOMER, featureId: nothing, remaining: 5 }),
    );
    await expectError(
      rec,
      "balances.create unknown feature and customer (feature checked first)",
      404,
      "feature_not_found",
      () =>
        autumn.balances.create({ customerId: "cus_nobody", featureId: nothing, includedGrant: 1 }),
    );
  },

  async error_bad_key(rec) {
    const wrong = client({ secretKey: "am_sk_test_not_the_key" });
    await expectError(rec, "balances.create with an unknown key", 401, "invalid_secret_key", () =>
      wrong.balances.create({ customerId: CUSTOMER, featureId: FEATURE, includedGrant: 10 }),
    );
    await expectError(rec, "customers.get with an unknown key", 401, "invalid_secret_key", () =>
      wrong.customers.get({ customerId: CUSTOMER }),
    );
    const unprefixed = client({ secretKey: "sk_not_an_autumn_key" });
    await expectError(
      rec,
      "balances.update with a key not starting am_sk_",
      401,
      "invalid_request",
      () => unprefixed.balances.update({ customerId: CUSTOMER, featureId: FEATURE, remaining: 5 }),
    );
  },

  async error_bad_body(rec) {
    const createBody = JSON.stringify({ customer_id: 123, feature_id: FEATURE, included_grant: 5 });
    await expectError(rec, "balances.create with customer_id 123", 400, "invalid_inputs", () =>
      clientSending(createBody).balances.create({
        customerId: CUSTOMER,
        featureId: FEATURE,
        includedGrant: 5,
      }),
    );
    const updateBody = JSON.stringify({
      customer_id: CUSTOMER,
      feature_id: FEATURE,
      remaining: "five",
    });
    await expectError(rec, 'balances.update with remaining "five"', 400, "invalid_inputs", () =>
      clientSending(updateBody).balances.update({
        customerId: CUSTOMER,
        featureId: FEATURE,
        remaining: 5,
      }),
    );
  },

  async customers_get(rec) {
    const autumn = client();
    await createApiCalls(rec, autumn, 1000);
    const { view, balance, note } = await readBalance(rec, autumn, "of the seeded customer");
    rec.equal("id", field(view, "id"), CUSTOMER, note);
    rec.equal("name", field(view, "name"), "Example Customer", note);
    rec.equal("env", field(view, "env"), "sandbox", note);
    rec.equal("api_calls granted/remaining/usage", totals(balance), [1000, 1000, 0], note);
    const flags = field(view, "flags");
    const isObject = flags !== null && typeof flags === "object";
    rec.check("flags is an object", isObject, `flags ${JSON.stringify(flags)}${note}`);
  },

  async customers_get_or_create(rec) {
    const autumn = client();
    await createApiCalls(rec, autumn, 100);
    const existing = await expectOk(rec, "customers.getOrCreate existing customer", () =>
      autumn.customers.getOrCreate({ customerId: CUSTOMER }),
    );
    const note = rawNote(existing);
    rec.equal(
      "existing: id and name",
      [field(existing.value, "id"), field(existing.value, "name")],
      [CUSTOMER, "Example Customer"],
      note,
    );
    rec.equal(
      "existing: its balance is kept",
      totals(field(field(existing.value, "balances"), FEATURE)),
      [100, 100, 0],
      note,
    );

    const fresh = { customerId: "cus_interop_new", name: "Ada", email: "ada@example.com" };
    const created = await expectOk(rec, "customers.getOrCreate new customer", () =>
      autumn.customers.getOrCreate(fresh),
    );
    const cnote = rawNote(created);
    rec.equal(
      "new: id, name, email",
      [field(created.value, "id"), field(created.value, "name"), field(created.value, "email")],
      [fresh.customerId, fresh.name, fresh.email],
      cnote,
    );
    rec.equal("new: no balances", field(created.value, "balances"), {}, cnote);
    const again = await expectOk(rec, "customers.get of the new customer", () =>
      autumn.customers.get({ customerId: fresh.customerId }),
    );
    rec.equal("customers.get finds it", field(again.value, "id"), fresh.customerId, rawNote(again));
  },

  async entities_get(rec) {
    const autumn = client();
    const seat = "seat_1";
    const created = await expectOk(rec, "balances.create seats 5 for entity seat_1", () =>
      autumn.balances.create({
        customerId: CUSTOMER,
        featureId: "seats",
        entityId: seat,
        includedGrant: 5,
      }),
    );
    rec.equal("balances.create answer", field(created.value, "success"), true);
    await createApiCalls(rec, autumn, 100);
    const answer = await expectOk(rec, "entities.get seat_1", () =>
      autumn.entities.get({ customerId: CUSTOMER, entityId: seat }),
    );
    const note = rawNote(answer);
    rec.equal(
      "entity id and name",
      [field(answer.value, "id"), field(answer.value, "name")],
      [seat, "Seat one"],
      note,
    );
    const balances = field(answer.value, "balances");
    rec.equal("entity's own seats balance", totals(field(balances, "seats")), [5, 5, 0], note);
    rec.equal(
      "customer-level api_calls balance shown on the entity",
      totals(field(balances, FEATURE)),
      [100, 100, 0],
      note,
    );
    await expectError(rec, "entities.get unknown entity", 404, "entity_not_found", () =>
      autumn.entities.get({ customerId: CUSTOMER, entityId: "seat_nobody" }),
    );
    const seats = await readBalance(rec, autumn, "with an entity balance", "seats");
    rec.equal(
      "customer view totals include the entity's seats",
      totals(seats.balance),
      [5, 5, 0],
      seats.note,
    );
  },

  async boolean_flag(rec) {
    const autumn = client();
    const answer = await expectOk(rec, "balances.create premium (boolean)", () =>
      autumn.balances.create({ customerId: CUSTOMER, featureId: "premium" }),
    );
    rec.equal("balances.create answer", field(answer.value, "success"), true);
    const { view, note } = await readBalance(rec, autumn, "after granting premium", "premium");
    const flag = field(field(view, "flags"), "premium");
    rec.equal("flags.premium feature_id", field(flag, "feature_id"), "premium", note);
    rec.check(
      "flags.premium id is a string",
      typeof field(flag, "id") === "string",
      `flag ${JSON.stringify(flag)}${note}`,
    );
    const premium = field(field(view, "balances"), "premium");
    rec.equal("premium is not under balances", premium, undefined, note);
  },

  async default_api_version(rec) {
    // Unconfigured, the SDK sends its own default x-api-version.
    let sent = null;
    const httpClient = new sdk.HTTPClient();
    httpClient.addHook("beforeRequest", (request) => {
      sent = request.headers.get("x-api-version");
      return request;
    });
    const autumn = new sdk.Autumn({ serverURL: serverUrl, secretKey, failOpen: false, httpClient });
    const answer = await expectOk(rec, "balances.create with the SDK's default x-api-version", () =>
      autumn.balances.create({ customerId: CUSTOMER, featureId: FEATURE, includedGrant: 10 }),
    );
    const success = field(answer.value, "success");
    rec.equal("balances.create answer", success, true, ` (x-api-version ${sent})`);
  },

  async check_allowed(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 5);
    const ok = await expectOk(rec, "check required 3", () =>
      autumn.check({ customerId: CUSTOMER, featureId: FEATURE, requiredBalance: 3 }),
    );
    rec.equal(
      "check required 3: allowed, required_balance, remaining",
      [
        field(ok.value, "allowed"),
        field(ok.value, "required_balance"),
        field(field(ok.value, "balance"), "remaining"),
      ],
      [true, 3, 5],
      rawNote(ok),
    );
    const short = await expectOk(rec, "check required 6", () =>
      autumn.check({ customerId: CUSTOMER, featureId: FEATURE, requiredBalance: 6 }),
    );
    rec.equal("check required 6: allowed", field(short.value, "allowed"), false, rawNote(short));
    const flagless = await expectOk(rec, "check premium (no flag)", () =>
      autumn.check({ customerId: CUSTOMER, featureId: "premium" }),
    );
    rec.equal(
      "check premium: allowed, balance, flag",
      ["allowed", "balance", "flag"].map((k) => field(flagless.value, k)),
      [false, null, null],
      rawNote(flagless),
    );
    await expectOk(rec, "balances.create premium", () =>
      autumn.balances.create({ customerId: CUSTOMER, featureId: "premium" }),
    );
    const flagged = await expectOk(rec, "check premium (flag granted)", () =>
      autumn.check({ customerId: CUSTOMER, featureId: "premium" }),
    );
    rec.equal(
      "check premium: allowed, flag feature_id",
      [field(flagged.value, "allowed"), field(field(flagged.value, "flag"), "feature_id")],
      [true, "premium"],
      rawNote(flagged),
    );
  },

  async check_send_event(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 5);
    const used = await expectOk(rec, "check sendEvent required 3", () =>
      autumn.check({ customerId: CUSTOMER, featureId: FEATURE, requiredBalance: 3, sendEvent: true }),
    );
    rec.equal(
      "check sendEvent: allowed, remaining after",
      [field(used.value, "allowed"), field(field(used.value, "balance"), "remaining")],
      [true, 2],
      rawNote(used),
    );
    const refused = await expectOk(rec, "check sendEvent required 3 again, withPreview", () =>
      autumn.check({
        customerId: CUSTOMER,
        featureId: FEATURE,
        requiredBalance: 3,
        sendEvent: true,
        withPreview: true,
      }),
    );
    rec.equal(
      "refused: allowed, remaining kept, preview scenario",
      [
        field(refused.value, "allowed"),
        field(field(refused.value, "balance"), "remaining"),
        field(field(refused.value, "preview"), "scenario"),
      ],
      [false, 2, "usage_limit"],
      rawNote(refused),
    );
    await expectTotals(rec, autumn, "after sendEvent", [5, 2, 3]);
  },

  async track_value(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 10);
    const used = await expectOk(rec, "track 4", () =>
      autumn.track({ customerId: CUSTOMER, featureId: FEATURE, value: 4 }),
    );
    rec.equal(
      "track 4: value, remaining, deduction values",
      [
        field(used.value, "value"),
        field(field(used.value, "balance"), "remaining"),
        (field(used.value, "deductions") ?? []).map((d) => field(d, "value")),
      ],
      [4, 6, [4]],
      rawNote(used),
    );
    const credited = await expectOk(rec, "track -2", () =>
      autumn.track({ customerId: CUSTOMER, featureId: FEATURE, value: -2 }),
    );
    rec.equal(
      "track -2: remaining",
      field(field(credited.value, "balance"), "remaining"),
      8,
      rawNote(credited),
    );
    await expectOk(rec, "track 20 (cap by default)", () =>
      autumn.track({ customerId: CUSTOMER, featureId: FEATURE, value: 20 }),
    );
    await expectTotals(rec, autumn, "after a capped track", [10, 0, 10]);
    await expectOk(rec, "track 5 overageBehavior overflow", () =>
      autumn.track({
        customerId: CUSTOMER,
        featureId: FEATURE,
        value: 5,
        overageBehavior: "overflow",
      }),
    );
    await expectTotals(rec, autumn, "after an overflowing track", [10, 0, 15]);
  },

  async track_event_credits(rec) {
    const autumn = client();
    await grant(rec, autumn, WORDS, 10);
    await grant(rec, autumn, "credits", 100, { reset: { interval: "month" } });
    const answer = await expectOk(rec, "track event generation 14", () =>
      autumn.track({ customerId: CUSTOMER, eventName: "generation", value: 14 }),
    );
    const note = rawNote(answer);
    rec.equal(
      "event_name echoed, balance shown, balances keys",
      [
        field(answer.value, "event_name"),
        field(field(answer.value, "balance"), "feature_id"),
        Object.keys(field(answer.value, "balances") ?? {}).sort(),
      ],
      ["generation", WORDS, ["credits", WORDS]],
      note,
    );
    rec.equal(
      "deductions: 10 words, then 4 words as 2 credits",
      (field(answer.value, "deductions") ?? []).map((d) => [
        field(d, "feature_id"),
        field(d, "value"),
      ]),
      [
        [WORDS, 10],
        ["credits", 2],
      ],
      note,
    );
    const pooled = await expectOk(rec, "check words required 6 (from credits)", () =>
      autumn.check({ customerId: CUSTOMER, featureId: WORDS, requiredBalance: 6 }),
    );
    rec.equal(
      "check through the credit system: allowed, required_balance in credits",
      [field(pooled.value, "allowed"), field(pooled.value, "required_balance")],
      [true, 3],
      rawNote(pooled),
    );
  },

  async track_async_flag(rec) {
    let status = null;
    const httpClient = new sdk.HTTPClient();
    httpClient.addHook("response", (response) => {
      status = response.status;
    });
    const autumn = client({ httpClient });
    await grant(rec, autumn, FEATURE, 10);
    const answer = await expectOk(rec, "track async 3", () =>
      autumn.track({ customerId: CUSTOMER, featureId: FEATURE, value: 3, async: true }),
    );
    rec.equal(
      "track async: status, balance",
      [status, field(answer.value, "balance")],
      [202, null],
      rawNote(answer),
    );
    await expectTotals(rec, autumn, "after an async track", [10, 7, 3]);
  },

  async batch_track(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 10);
    await grant(rec, autumn, WORDS, 10);
    // autumn-js's item schema has no idempotency_key: it cannot send one.
    const answer = await expectOk(rec, "batchTrack of 3 items", () =>
      autumn.batchTrack([
        { customerId: CUSTOMER, featureId: FEATURE, value: 2 },
        { customerId: CUSTOMER, eventName: "generation", value: 3 },
        { customerId: CUSTOMER, featureId: FEATURE },
      ]),
    );
    rec.equal("batchTrack answer", field(answer.value, "success"), true, rawNote(answer));
    await expectTotals(rec, autumn, "after the batch", [10, 7, 3]);
    const words = await readBalance(rec, autumn, "words after the batch", WORDS);
    rec.equal("words usage after the batch", field(words.balance, "usage"), 3, words.note);
    await expectError(rec, "batchTrack with an unknown feature in item 1", 404, "feature_not_found", () =>
      autumn.batchTrack([
        { customerId: CUSTOMER, featureId: FEATURE, value: 1 },
        { customerId: CUSTOMER, featureId: "nope", value: 1 },
      ]),
    );
    await expectTotals(rec, autumn, "after the refused batch", [10, 7, 3]);
  },

  async track_tokens(rec) {
    const autumn = client();
    await grant(rec, autumn, AI_CREDITS, 100);
    // openai/gpt-4o: $2.50 / $10 per million input / output tokens, 20 % markup.
    const answer = await expectOk(rec, "trackTokens openai/gpt-4o 1000 in 500 out", () =>
      autumn.trackTokens({
        customerId: CUSTOMER,
        modelId: "openai/gpt-4o",
        inputTokens: 1000,
        outputTokens: 500,
      }),
    );
    rec.equal(
      "trackTokens: value (the cost), balance feature and remaining",
      [
        field(answer.value, "value"),
        field(field(answer.value, "balance"), "feature_id"),
        field(field(answer.value, "balance"), "remaining"),
      ],
      [0.009, AI_CREDITS, 99.991],
      rawNote(answer),
    );
    await expectError(rec, "trackTokens of a model without a price", 400, "invalid_request", () =>
      autumn.trackTokens({
        customerId: CUSTOMER,
        modelId: "openai/no-such-model",
        inputTokens: 1,
        outputTokens: 1,
      }),
    );
    await expectError(rec, "trackTokens on a feature that is not an AI credit system", 400, "invalid_request", () =>
      autumn.trackTokens({
        customerId: CUSTOMER,
        featureId: FEATURE,
        modelId: "openai/gpt-4o",
        inputTokens: 1,
        outputTokens: 1,
      }),
    );
  },

  async balances_delete(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 100, { balanceId: "a" });
    await grant(rec, autumn, FEATURE, 200, { balanceId: "b" });
    await update(rec, autumn, { balanceId: "a", remaining: 60 });
    const answer = await expectOk(rec, "balances.delete a with recalculateBalances", () =>
      autumn.balances.delete({
        customerId: CUSTOMER,
        featureId: FEATURE,
        balanceId: "a",
        recalculateBalances: true,
      }),
    );
    rec.equal("balances.delete answer", field(answer.value, "success"), true);
    const balance = await expectTotals(rec, autumn, "after deleting a", [200, 160, 40]);
    rec.equal(
      "the breakdown left",
      (field(balance, "breakdown") ?? []).map((b) => field(b, "id")),
      ["b"],
    );
    await expectError(
      rec,
      "balances.delete of a balance that is not there",
      404,
      "invalid_request",
      () => autumn.balances.delete({ customerId: CUSTOMER, balanceId: "a" }),
    );
  },

  async check_lock_finalize(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 10);
    const locked = await expectOk(rec, "check required 4 with a lock", () =>
      autumn.check({
        customerId: CUSTOMER,
        featureId: FEATURE,
        requiredBalance: 4,
        lock: { lockId: "lock_1", enabled: true },
      }),
    );
    rec.equal("locked: allowed", field(locked.value, "allowed"), true, rawNote(locked));
    await expectTotals(rec, autumn, "while locked", [10, 6, 4]);
    const released = await expectOk(rec, "balances.finalize release", () =>
      autumn.balances.finalize({ lockId: "lock_1", action: "release" }),
    );
    rec.equal("finalize answer", field(released.value, "success"), true);
    await expectTotals(rec, autumn, "after release", [10, 10, 0]);
    await expectError(rec, "balances.finalize of a finished lock", 400, "invalid_request", () =>
      autumn.balances.finalize({ lockId: "lock_1", action: "confirm" }),
    );
  },

  async usage_errors(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 2);
    await expectError(rec, "track unknown feature", 404, "feature_not_found", () =>
      autumn.track({ customerId: CUSTOMER, featureId: "no_such_feature" }),
    );
    await expectError(rec, "check unknown customer", 404, "customer_not_found", () =>
      autumn.check({ customerId: "cus_nobody", featureId: FEATURE }),
    );
    await expectError(rec, "track an event no feature listens to", 404, "invalid_request", () =>
      autumn.track({ customerId: CUSTOMER, eventName: "nothing_listens" }),
    );
    await expectError(rec, "track for an unknown entity", 404, "entity_not_found", () =>
      autumn.track({ customerId: CUSTOMER, featureId: FEATURE, entityId: "seat_nobody" }),
    );
  },

  async customers_data(rec) {
    const autumn = client();
    const sent = {
      customerId: "cus_interop_data",
      name: "Ada",
      email: "ada@example.com",
      fingerprint: "device-42",
      metadata: { plan: "team" },
      sendEmailReceipts: true,
    };
    const created = await expectOk(
      rec,
      "customers.getOrCreate with metadata, fingerprint, receipts",
      () => autumn.customers.getOrCreate(sent),
    );
    rec.equal(
      "new: fingerprint, metadata, send_email_receipts kept",
      ["fingerprint", "metadata", "send_email_receipts"].map((k) => field(created.value, k)),
      ["device-42", { plan: "team" }, true],
      rawNote(created),
    );
    const again = await expectOk(
      rec,
      "customers.getOrCreate existing, other name, receipts off",
      () =>
        autumn.customers.getOrCreate({
          customerId: "cus_interop_data",
          name: "Other",
          sendEmailReceipts: false,
        }),
    );
    rec.equal(
      "existing: name kept, send_email_receipts updated",
      [field(again.value, "name"), field(again.value, "send_email_receipts")],
      ["Ada", false],
      rawNote(again),
    );
    const first = await expectOk(rec, "customers.getOrCreate customerId null with an email", () =>
      autumn.customers.getOrCreate({
        customerId: null,
        email: "null-id@example.com",
        name: "Null",
      }),
    );
    const repeat = await expectOk(
      rec,
      "customers.getOrCreate customerId null, same email in capitals",
      () =>
        autumn.customers.getOrCreate({
          customerId: null,
          email: "NULL-ID@example.com",
          name: "Other",
        }),
    );
    rec.equal(
      "null id: id null, and the repeat is the same customer (its name)",
      [field(first.value, "id"), field(repeat.value, "id"), field(repeat.value, "name")],
      [null, null, "Null"],
      rawNote(first) + rawNote(repeat),
    );
    await expectError(
      rec,
      "customers.getOrCreate customerId null without an email",
      400,
      "invalid_request",
      () => autumn.customers.getOrCreate({ customerId: null, name: "Nobody" }),
    );
    await expectError(rec, "customers.getOrCreate id with a period", 400, "invalid_inputs", () =>
      autumn.customers.getOrCreate({ customerId: "a.b" }),
    );
    await expectError(rec, "customers.get id with an @", 400, "invalid_inputs", () =>
      autumn.customers.get({ customerId: "ada@example.com" }),
    );
    await expectError(rec, "customers.getOrCreate invalid email", 400, "invalid_inputs", () =>
      clientSending(
        JSON.stringify({ customer_id: "cus_bad_email", email: "not-an-email" }),
      ).customers.getOrCreate({ customerId: "cus_bad_email" }),
    );
  },

  async customers_expand(rec) {
    const autumn = client();
    await grant(rec, autumn, FEATURE, 10);
    await expectOk(rec, "balances.create premium", () =>
      autumn.balances.create({ customerId: CUSTOMER, featureId: "premium" }),
    );
    const expand = [
      "invoices",
      "entities",
      "trials_used",
      "referrals",
      "payment_method",
      "balances.feature",
      "flags.feature",
    ];
    const view = await expectOk(rec, "customers.get with expand", () =>
      autumn.customers.get({ customerId: CUSTOMER, expand }),
    );
    const note = rawNote(view);
    const entities = field(view.value, "entities") ?? [];
    rec.equal(
      "expanded: invoices, entity ids, trials_used, referrals",
      [
        field(view.value, "invoices"),
        entities.map((e) => field(e, "id")),
        field(view.value, "trials_used"),
        field(view.value, "referrals"),
      ],
      [[], ["seat_1"], [], []],
      note,
    );
    rec.equal(
      "expanded: balances.feature and flags.feature",
      [
        field(field(field(field(view.value, "balances"), FEATURE), "feature"), "id"),
        field(field(field(field(view.value, "flags"), "premium"), "feature"), "id"),
      ],
      [FEATURE, "premium"],
      note,
    );
    const created = await expectOk(rec, "customers.getOrCreate with expand entities", () =>
      autumn.customers.getOrCreate({ customerId: "cus_interop_expand", expand: ["entities"] }),
    );
    rec.equal("getOrCreate expanded entities", field(created.value, "entities"), []);
  },

  async entities_by_entity_id(rec) {
    const autumn = client();
    await expectOk(rec, "balances.create seats 5 for entity seat_1", () =>
      autumn.balances.create({
        customerId: CUSTOMER,
        featureId: "seats",
        entityId: "seat_1",
        includedGrant: 5,
      }),
    );
    const answer = await expectOk(rec, "entities.get without customerId", () =>
      autumn.entities.get({ entityId: "seat_1" }),
    );
    rec.equal(
      "found from the entity: id, customer_id, seats",
      [
        field(answer.value, "id"),
        field(answer.value, "customer_id"),
        totals(field(field(answer.value, "balances"), "seats")),
      ],
      ["seat_1", CUSTOMER, [5, 5, 0]],
      rawNote(answer),
    );
    await expectError(rec, "entities.get for an unknown customer", 404, "entity_not_found", () =>
      autumn.entities.get({ customerId: "cus_nobody", entityId: "seat_1" }),
    );
  },

  async usage_fidelity(rec) {
    const autumn = client();
    const early = await expectOk(
      rec,
      "check sendEvent words 10 without a balance (credits draw on words)",
      () =>
        autumn.check({
          customerId: CUSTOMER,
          featureId: WORDS,
          requiredBalance: 10,
          sendEvent: true,
        }),
    );
    rec.equal(
      "early answer: allowed, required_balance in words",
      [field(early.value, "allowed"), field(early.value, "required_balance")],
      [false, 10],
      rawNote(early),
    );
    const zero = await expectOk(rec, "check words 0 with a lock, without a balance", () =>
      autumn.check({
        customerId: CUSTOMER,
        featureId: WORDS,
        requiredBalance: 0,
        lock: { lockId: "lock_none", enabled: true },
      }),
    );
    rec.equal("no-balance lock: allowed", field(zero.value, "allowed"), true, rawNote(zero));
    await expectError(
      rec,
      "balances.finalize of a lock that kept no receipt",
      400,
      "invalid_request",
      () => autumn.balances.finalize({ lockId: "lock_none", action: "confirm" }),
    );
    const tracked = await expectOk(rec, "track words 3 with a lock, without a balance", () =>
      autumn.track({
        customerId: CUSTOMER,
        featureId: WORDS,
        value: 3,
        lock: { lockId: "lock_track", enabled: true },
      }),
    );
    rec.equal("track answer: value", field(tracked.value, "value"), 3, rawNote(tracked));
    await expectOk(rec, "the same lockId again: nothing holds it", () =>
      autumn.track({
        customerId: CUSTOMER,
        featureId: WORDS,
        value: 3,
        lock: { lockId: "lock_track", enabled: true },
      }),
    );
    await grant(rec, autumn, FEATURE, 10, { balanceId: "top" });
    await grant(rec, autumn, FEATURE, 20, { balanceId: "seat", entityId: "seat_1" });
    await expectOk(rec, "track 6 at customer level", () =>
      autumn.track({ customerId: CUSTOMER, featureId: FEATURE, value: 6 }),
    );
    await expectOk(rec, "balances.delete top with recalculateBalances", () =>
      autumn.balances.delete({
        customerId: CUSTOMER,
        featureId: FEATURE,
        balanceId: "top",
        recalculateBalances: true,
      }),
    );
    const seat = await expectOk(rec, "entities.get seat_1 after the delete", () =>
      autumn.entities.get({ customerId: CUSTOMER, entityId: "seat_1" }),
    );
    rec.equal(
      "the entity's balance took the usage",
      totals(field(field(seat.value, "balances"), FEATURE)),
      [20, 14, 6],
      rawNote(seat),
    );
    await expectOk(rec, "balances.delete with an unknown entityId", () =>
      autumn.balances.delete({ customerId: CUSTOMER, featureId: FEATURE, entityId: "seat_9" }),
    );
    const after = await readBalance(rec, autumn, "after deleting at every level");
    rec.equal("no api_calls balance left at any level", after.balance ?? null, null, after.note);
  },

  async seed_create_example(rec) {
    // The seed's example with the real field name; for the capture server.
    const answer = await expectOk(rec, "balances.create seed example", () =>
      client().balances.create({
        customerId: CUSTOMER,
        featureId: FEATURE,
        includedGrant: 1000,
        reset: { interval: "month" },
      }),
    );
    rec.equal("balances.create answer", field(answer.value, "success"), true);
  },
};

// ---- main -------------------------------------------------------------------

const defaultUrl = opts["server-url"] ?? process.env.AUTUMN_SERVER_URL;
const secretKey = opts["secret-key"] ?? process.env.AUTUMN_SECRET_KEY;
let serverUrl; // the server of the flow running now

if (opts.list) {
  process.stdout.write(JSON.stringify(Object.keys(FLOWS)) + "\n");
  process.exit(0);
}
// FLOW runs against the default server, FLOW=URL against its own.
const runs = requested.map((arg) => {
  const at = arg.indexOf("=");
  return at < 0 ? [arg, defaultUrl] : [arg.slice(0, at), arg.slice(at + 1)];
});
const unknown = runs.filter(([name]) => !(name in FLOWS)).map(([name]) => name);
if (!secretKey || runs.length === 0 || unknown.length > 0 || runs.some(([, url]) => !url)) {
  process.stderr.write(
    "usage: autumn_js_driver.mjs [--server-url URL] [--secret-key KEY] FLOW[=URL]...\n" +
      (unknown.length ? `unknown flow(s): ${unknown.join(", ")}\n` : "") +
      `flows: ${Object.keys(FLOWS).join(", ")}\n`,
  );
  process.exit(2);
}

sdk = await loadSdk();
let failed = 0;
for (const [name, url] of runs) {
  serverUrl = url;
  const rec = new Recorder(name);
  try {
    await FLOWS[name](rec);
  } catch (error) {
    rec.check("flow ran to the end", false, `${describe(error)}\n${error?.stack ?? ""}`);
  }
  failed += rec.failed;
}
process.exit(failed ? 1 : 0);
