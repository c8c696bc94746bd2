// The documentation pages in a real browser: headless Chromium (the
// system's, TIM_CHROMIUM) driven by playwright-core against a server of
// internal/docs (TIM_URL), whose browser test runs this file with node
// --test. What each page must show comes from the contract documents, read
// by that test: TIM_DOCS_EXPECT (JSON, the Expect type below). Screenshots
// go to TIM_BROWSER_ARTIFACTS.
//
// /docs/websocket is the AsyncAPI React component over /asyncapi.yaml: every
// operation, channel address, message, example, member of each server
// frame's union (schemas of /openapi.yaml, so the reference between the
// documents was followed) and close code is rendered. /docs is Redoc over
// /openapi.yaml: every operation is rendered. Neither page asks another
// host for anything, and the console shows no error.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`${name} is not set`);
  return v;
}

/** What the pages must show, read from api/asyncapi.yaml and api/openapi.yaml. */
interface Expect {
  /** The AsyncAPI operations: the element id the component gives each, and its channel's address. */
  operations: { id: string; address: string }[];
  /** The AsyncAPI messages: their key in components/messages, heading, examples' names and, for a union, its members. */
  messages: { key: string; heading: string; examples: string[]; union: string[] }[];
  /** The close codes of the AsyncAPI document. */
  closeCodes: string[];
  /** The operationIds of the OpenAPI document. */
  operationIds: string[];
}

const url = env("TIM_URL");
const origin = new URL(url).origin;
const shots = env("TIM_BROWSER_ARTIFACTS");
const expect = JSON.parse(env("TIM_DOCS_EXPECT")) as Expect;

/** Every console error, uncaught exception and request to another host. */
const problems: string[] = [];

async function open(browser: Browser, pathname: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${pathname}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${pathname}: uncaught: ${e.message}`));
  // Offline: whatever is not Tim's is refused, and reported.
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith("data:") || u.startsWith("blob:") || new URL(u).origin === origin) return route.continue();
    problems.push(`${pathname}: asked another host for ${u}`);
    return route.abort();
  });
  await page.goto(url + pathname);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
}

/** texts waits until the element with the id first is rendered, then returns the text of each element of ids (null if absent). */
async function texts(page: Page, first: string, ids: string[]): Promise<Map<string, string | null>> {
  await page.locator(`[id="${first}"]`).waitFor({ state: "attached" });
  const got = await page.evaluate((ids) => ids.map((id) => document.getElementById(id)?.textContent ?? null), ids);
  return new Map(ids.map((id, i) => [id, got[i] ?? null]));
}

test("the documentation pages render the contract", { timeout: 120_000 }, async (t) => {
  assert.ok(expect.operations.length > 0 && expect.messages.length > 0 && expect.operationIds.length > 0, "nothing expected");
  const browser: Browser = await chromium.launch({ executablePath: env("TIM_CHROMIUM") });
  t.after(() => browser.close());

  await t.test("/docs/websocket renders every operation, message, example, frame and close code", async () => {
    const page = await open(browser, "/docs/websocket");
    // The union's members are schemas of openapi.yaml, shown once expanded.
    const unions = expect.messages.filter((m) => m.union.length > 0);
    for (const m of unions) {
      await page.locator(`[id="message-${m.key}-payload"]`).getByRole("button", { name: "Expand all" }).first().click();
    }
    const ids = [
      ...expect.operations.map((op) => op.id),
      ...expect.messages.map((m) => `message-${m.key}`),
      ...unions.map((m) => `message-${m.key}-payload`),
    ];
    const got = await texts(page, ids[0]!, ids);
    for (const op of expect.operations) {
      assert.ok(got.get(op.id)?.includes(op.address), `${op.id} lacks its address ${op.address}`);
    }
    for (const m of expect.messages) {
      const message = got.get(`message-${m.key}`) ?? "";
      assert.ok(message.includes(m.heading), `message ${m.key} lacks its heading ${m.heading}`);
      for (const ex of m.examples) assert.ok(message.includes(`Example - ${ex}`), `message ${m.key} lacks example ${ex}`);
      const members = got.get(`message-${m.key}-payload`) ?? "";
      for (const frame of m.union) assert.ok(members.includes(`[${frame}]`), `message ${m.key} lacks union member ${frame}`);
    }
    const codes = await page.locator('[id="close-codes"] + table').textContent();
    for (const code of expect.closeCodes) assert.ok(codes?.includes(code), `the close codes lack ${code}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "docs-websocket");
  });

  await t.test("/docs renders every operation", async () => {
    const page = await open(browser, "/docs");
    const ids = expect.operationIds.map((id) => `operation/${id}`);
    const got = await texts(page, ids[0]!, ids);
    for (const id of ids) assert.notEqual(got.get(id), null, `${id} is not rendered`);
    await shot(page, "docs");
  });

  await t.test("nothing came from elsewhere and the console shows no errors", () => {
    // Redoc's sidebar logo, the one remote resource of its bundle, is
    // refused by the page's policy before any request is made.
    const logo = /^\/docs: console error: Loading the image 'https:\/\/cdn\.redoc\.ly\/[^']*' violates the following Content Security Policy/;
    assert.deepEqual(
      problems.filter((p) => !logo.test(p)),
      [],
    );
  });
});
