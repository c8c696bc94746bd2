// The web client at / in a real browser: headless Chromium (the system's,
// TIM_CHROMIUM) driven by playwright-core against a real Tim server
// (TIM_URL). internal/webapp's browser test starts the server on a fresh
// database and runs this file with node --test; screenshots of the main
// screens go to TIM_BROWSER_ARTIFACTS.
//
// Two people, each in a browser context of their own (own storage, own
// socket), register, befriend, chat both ways in real time; one closes the
// page and, on opening it again, gets the messages sent meanwhile; a
// picture is sent and shown; they chat in a group; the browser console
// shows no error.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`${name} is not set`);
  return v;
}

const url = env("TIM_URL");
const shots = env("TIM_BROWSER_ARTIFACTS");
const password = "secret-pass";

/** Every console error and uncaught exception of every page. */
const problems: string[] = [];

function watch(page: Page, who: string): Page {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${who}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${who}: uncaught: ${e.message}`));
  return page;
}

/** expectProblem runs step, which must log one console error matching re (a refusal the page shows). */
async function expectProblem(re: RegExp, step: () => Promise<void>): Promise<void> {
  const before = problems.length;
  await step();
  const during = problems.splice(before);
  assert.ok(during.some((p) => re.test(p)), `expected a console error matching ${re}, got ${JSON.stringify(during)}`);
  const other = during.filter((p) => !re.test(p));
  assert.deepEqual(other, [], "no other console errors");
}

async function shot(page: Page, name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
}

/** A PNG drawn by the browser: a mountain under a sky, w×h pixels. */
async function picture(page: Page, w: number, h: number, sun: string): Promise<Buffer> {
  const dataUrl = await page.evaluate(
    ({ w, h, sun }) => {
      const c = document.createElement("canvas");
      c.width = w;
      c.height = h;
      const g = c.getContext("2d")!;
      const sky = g.createLinearGradient(0, 0, 0, h);
      sky.addColorStop(0, "#7fb3e8");
      sky.addColorStop(1, "#e6f0fa");
      g.fillStyle = sky;
      g.fillRect(0, 0, w, h);
      g.fillStyle = sun;
      g.beginPath();
      g.arc(w * 0.78, h * 0.25, h * 0.12, 0, 2 * Math.PI);
      g.fill();
      g.fillStyle = "#3f6b4a";
      g.beginPath();
      g.moveTo(0, h);
      g.lineTo(w * 0.4, h * 0.3);
      g.lineTo(w * 0.65, h * 0.7);
      g.lineTo(w * 0.8, h * 0.5);
      g.lineTo(w, h);
      g.fill();
      return c.toDataURL("image/png");
    },
    { w, h, sun },
  );
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(",") + 1), "base64");
}

async function open(context: BrowserContext, who: string): Promise<Page> {
  const page = watch(await context.newPage(), who);
  await page.goto(url);
  return page;
}

async function register(page: Page, account: string, username: string): Promise<void> {
  const form = page.locator("#register-form");
  await form.locator('[name="account"]').fill(account);
  await form.locator('[name="username"]').fill(username);
  await form.locator('[name="password"]').fill(password);
  await form.locator('[name="age"]').fill("28");
  await form.locator("button").click();
  await connected(page);
}

/** connected waits until the page's socket is open and has said who is online. */
async function connected(page: Page): Promise<void> {
  await page.locator('#me[data-connected="true"]').waitFor();
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#send-form [name="text"]').fill(text);
  await page.locator("#send-form button").click();
  // Shown once the server committed it and sent the sender's copy.
  await message(page, text, true);
}

/** message waits for a message to show in the open conversation. */
async function message(page: Page, text: string, mine: boolean) {
  const li = page.locator(mine ? "#messages li.msg.mine" : "#messages li.msg:not(.mine)", { hasText: text });
  await li.waitFor();
  return li;
}

const friend = (page: Page, account: string) => page.locator(`#friends button[data-account="${account}"]`);

/** texts lists the texts of the open conversation, in order. */
const texts = (page: Page) => page.locator("#messages li.msg .text").allTextContents();

/** shownImage waits for the conversation's picture to be loaded, and returns its natural size. */
async function shownImage(page: Page): Promise<{ w: number; h: number }> {
  const img = page.locator('#messages li.msg[data-kind="image"] img');
  await img.waitFor();
  await page.waitForFunction(() => {
    const el = document.querySelector<HTMLImageElement>('#messages li.msg[data-kind="image"] img');
    return el !== null && el.complete && el.naturalWidth > 0;
  });
  return img.evaluate((el: HTMLImageElement) => ({ w: el.naturalWidth, h: el.naturalHeight }));
}

test("two people chat in the web client", { timeout: 240_000 }, async (t) => {
  fs.mkdirSync(shots, { recursive: true });
  const browser: Browser = await chromium.launch({ executablePath: env("TIM_CHROMIUM") });
  t.after(() => browser.close());
  const viewport = { width: 960, height: 600 };
  const aliceContext = await browser.newContext({ viewport });
  const bobContext = await browser.newContext({ viewport });
  for (const c of [aliceContext, bobContext]) c.setDefaultTimeout(20_000);
  const alice = await open(aliceContext, "alice");
  let bob = await open(bobContext, "bob");

  await t.test("the page is the client, linking to the documentation", async () => {
    assert.equal(await alice.title(), "Tim");
    for (const href of ["/docs", "/docs/websocket", "/openapi.yaml", "/asyncapi.yaml"]) {
      await alice.locator(`#top nav a[href="${href}"]`).waitFor();
    }
    await alice.locator("#login-form").waitFor();
    await shot(alice, "01-login");
  });

  await t.test("a refused login shows the server's message", async () => {
    await expectProblem(/status of 401/, async () => {
      await alice.locator('#login-form [name="account"]').fill("alice");
      await alice.locator('#login-form [name="password"]').fill("wrong-password");
      await alice.locator("#login-form button").click();
      await alice.locator('#status[data-kind="error"]', { hasText: "(401)" }).waitFor();
    });
    assert.equal(await alice.locator("#chat").isHidden(), true);
  });

  await t.test("both register and are logged in", async () => {
    await register(alice, "alice", "爱丽丝");
    await register(bob, "bob", "Bob");
    assert.equal(await alice.locator("#me-name").textContent(), "爱丽丝 (alice)");
  });

  await t.test("alice adds bob, who is online", async () => {
    await alice.locator('#add-friend-form [name="account"]').fill("bob");
    await alice.locator("#add-friend-form button").click();
    await friend(alice, "bob").locator('.dot[data-online="true"]').waitFor();
    await alice.locator("#conv-title", { hasText: "Bob (bob)" }).waitFor();
  });

  await t.test("they chat both ways in real time", async () => {
    await send(alice, "周六去爬山吗？");
    // Bob had not befriended anyone: the message brings alice into his list, unread.
    await friend(bob, "alice").locator(".unread", { hasText: /^1$/ }).waitFor();
    await friend(bob, "alice").click();
    await message(bob, "周六去爬山吗？", false);
    await send(bob, "好的，八点见");
    await message(alice, "好的，八点见", false);
    assert.deepEqual(await texts(alice), ["周六去爬山吗？", "好的，八点见"]);
    assert.deepEqual(await texts(bob), ["周六去爬山吗？", "好的，八点见"]);
  });

  await t.test("bob closes the page and gets the messages sent meanwhile when he comes back", async () => {
    await bob.close();
    await friend(alice, "bob").locator('.dot[data-online="false"]').waitFor();
    await send(alice, "带上水和外套");
    await send(alice, "山上冷");

    bob = await open(bobContext, "bob again");
    await connected(bob); // the saved session resumed
    // Counted as they arrived on the socket, from the delivery cursor: two new ones.
    await friend(bob, "alice").locator(".unread", { hasText: /^2$/ }).waitFor();
    await friend(alice, "bob").locator('.dot[data-online="true"]').waitFor();
    await shot(bob, "02-offline-messages");
    await friend(bob, "alice").click();
    await message(bob, "山上冷", false);
    // The earlier messages come with the history page that opening the
    // conversation loads, possibly after the two that arrived on the socket.
    await message(bob, "周六去爬山吗？", false);
    assert.deepEqual(await texts(bob), ["周六去爬山吗？", "好的，八点见", "带上水和外套", "山上冷"]);
    assert.equal(await friend(bob, "alice").locator(".unread").textContent(), "");
  });

  await t.test("a picture is sent and shown to both", async () => {
    const png = await picture(alice, 240, 160, "#f6c343");
    await alice.locator("#picture-file").setInputFiles({ name: "mountain.png", mimeType: "image/png", buffer: png });
    assert.deepEqual(await shownImage(alice), { w: 240, h: 160 });
    assert.deepEqual(await shownImage(bob), { w: 240, h: 160 });
    await send(bob, "好看！");
    await message(alice, "好看！", false);
  });

  await t.test("bob changes his avatar", async () => {
    const png = await picture(bob, 64, 64, "#e8553f");
    await bob.locator("#avatar-file").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png });
    await bob.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>("#me-avatar img");
      return img !== null && img.complete && img.naturalWidth === 64;
    });
  });

  let groupId = "";
  await t.test("a group: create, join, chat", async () => {
    await alice.locator('#create-group-form [name="name"]').fill("周末爬山");
    await alice.locator("#create-group-form button").click();
    const entry = alice.locator("#groups button[data-group-id]", { hasText: "周末爬山" });
    await entry.waitFor();
    groupId = (await entry.getAttribute("data-group-id")) ?? "";
    assert.match(groupId, /^\d+$/);
    const id = groupId;

    await bob.locator('#join-group-form [name="id"]').fill(id);
    await bob.locator("#join-group-form button").click();
    await bob.locator("#conv-title", { hasText: `周末爬山 #${id}` }).waitFor();
    await send(bob, "我也去");
    await alice.locator("#conv-title", { hasText: `#${id}` }).waitFor();
    const got = await message(alice, "我也去", false);
    assert.equal(await got.locator(".from").textContent(), "Bob"); // a friend, by name
    await send(alice, "明早八点山脚集合");
    await message(bob, "明早八点山脚集合", false);
    await shot(alice, "03-group");
  });

  await t.test("the main screen", async () => {
    await alice.reload(); // the friends list now shows bob's avatar
    await connected(alice);
    await friend(alice, "bob").click();
    await shownImage(alice);
    await alice.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#friends button[data-account="bob"] .avatar img');
      return img !== null && img.complete && img.naturalWidth === 64;
    });
    await shot(alice, "04-chat");
  });

  await t.test("bob leaves the group", async () => {
    const entry = bob.locator(`#groups button[data-group-id="${groupId}"]`);
    // Opening the group loads its history; leaving while that request is
    // on its way would have it refused (403), which the console reports.
    const history = bob.waitForResponse((r) => r.url().includes("/Tim/groupMessages"));
    await entry.click();
    assert.equal((await history).status(), 200);
    await bob.locator("#leave-group").click();
    await entry.waitFor({ state: "detached" });
    await bob.locator("#conv-title", { hasText: "Pick a friend or a group" }).waitFor();
  });

  await t.test("logging out forgets the session and revokes the token", async () => {
    const token = await bob.evaluate(() => (JSON.parse(localStorage.getItem("tim.session") ?? "{}") as { token?: string }).token);
    assert.ok(token);
    await bob.locator("#logout").click();
    await bob.locator("#login-form").waitFor();
    await friend(alice, "bob").locator('.dot[data-online="false"]').waitFor();
    await bob.reload();
    await bob.locator("#login-form").waitFor();
    assert.equal(await bob.locator("#chat").isHidden(), true);
    const res = await fetch(`${url}/Tim/getFriends?account=bob`, { headers: { token } });
    assert.equal(res.status, 401);
  });

  await t.test("the console shows no errors", () => {
    assert.deepEqual(problems, []);
  });
});
