// The web client's friend requests, blocks and group administration in a
// real browser: headless Chromium (TIM_CHROMIUM) driven by playwright-core
// against a real Tim server (TIM_URL), as web/e2e/chat.ts. Screenshots go
// to TIM_BROWSER_ARTIFACTS.
//
// Alice asks to approve her friends; Bob's request lands in her inbox
// live, she accepts it from the keyboard, and both see each other as
// friends. Alice blocks Bob: his send is refused with 无权限 and nothing
// reaches her. In a group Alice owns she mutes Bob, renames the group,
// posts an announcement and, on a phone-sized screen, removes Bob from the
// member list: his page drops the group on the groupRemoved notice (the
// kick's event is held from it), hers shows the event's line.
// The group then takes members on approval: Bob asks again, and Alice
// lets him in from the member list's join requests. She hands him the
// group, and he dissolves it: it leaves both pages.
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

async function shot(page: Page, name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
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
  await page.locator('#me[data-connected="true"]').waitFor();
}

/** press activates a control from the keyboard: it takes the focus, then Enter. */
async function press(page: Page, name: string): Promise<void> {
  const control = page.getByRole("button", { name, exact: true });
  await control.focus();
  await page.keyboard.press("Enter");
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator('#send-form [name="text"]').fill(text);
  await page.locator("#send-form button").click();
}

/** message waits for a message to show in the open conversation. */
async function message(page: Page, text: string, mine: boolean) {
  const li = page.locator(mine ? "#messages li.msg.mine" : "#messages li.msg:not(.mine)", { hasText: text });
  await li.waitFor();
  return li;
}

/** status waits for the status line to say text, as an error or not. */
async function status(page: Page, text: string | RegExp, kind: "info" | "error" = "info"): Promise<void> {
  await page.locator(`#status[data-kind="${kind}"]`, { hasText: text }).waitFor();
}

const friend = (page: Page, account: string) => page.locator(`#friends button[data-account="${account}"]`);
const texts = (page: Page) => page.locator("#messages li.msg .text").allTextContents();
const token = (page: Page) =>
  page.evaluate(() => (JSON.parse(localStorage.getItem("tim.session") ?? "{}") as { token?: string }).token ?? "");

/** api calls the server as a page's account would, outside the page. */
async function api(page: Page, method: string, pathAndQuery: string): Promise<{ status: number; body: { data?: unknown } }> {
  const res = await fetch(`${url}${pathAndQuery}`, { method, headers: { token: await token(page) } });
  return { status: res.status, body: (await res.json()) as { data?: unknown } };
}

test("friend requests, blocks and group administration in the web client", { timeout: 240_000 }, async (t) => {
  fs.mkdirSync(shots, { recursive: true });
  const browser: Browser = await chromium.launch({ executablePath: env("TIM_CHROMIUM") });
  t.after(() => browser.close());
  const viewport = { width: 960, height: 640 };
  const aliceContext = await browser.newContext({ viewport });
  const bobContext = await browser.newContext({ viewport });
  for (const c of [aliceContext, bobContext]) c.setDefaultTimeout(20_000);
  const alice = await open(aliceContext, "alice");
  // While holdKick is set, Bob's sockets do not get the event of his own
  // kick, as a socket that loses the group at that moment may not: only
  // the groupRemoved notice that follows tells his page.
  let holdKick = false;
  await bobContext.routeWebSocket(/\/websocket\//, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (holdKick && typeof m === "string" && m.includes('"event":"kick"') && m.includes('"target":"bob"')) return;
      ws.send(m);
    });
  });
  const bob = await open(bobContext, "bob");
  await register(alice, "alice", "Alice");
  await register(bob, "bob", "Bob");

  await t.test("alice chooses to approve who befriends her", async () => {
    await alice.locator("#settings summary").focus();
    await alice.keyboard.press("Enter");
    const policy = alice.getByLabel("Who may add me as a friend");
    await policy.selectOption("approval");
    await press(alice, "Save");
    await status(alice, "Settings saved");
    assert.equal(await policy.inputValue(), "approval");
  });

  await t.test("bob's request reaches alice's inbox live and she accepts it: both are friends", async () => {
    await bob.locator('#add-friend-form [name="account"]').fill("alice");
    await bob.getByLabel("Note with the friend request").fill("我是bob，周末一起爬山");
    await bob.locator("#add-friend-form button").click();
    await status(bob, "Friend request sent to alice");
    await bob.locator('#sent-requests li[data-to="alice"]').waitFor();
    assert.equal(await friend(bob, "alice").count(), 0, "a request is no friendship yet");

    const request = alice.locator('#friend-requests li[data-from="bob"]');
    await request.waitFor(); // the friendRequest frame, no reload
    assert.match((await request.textContent()) ?? "", /我是bob，周末一起爬山/);
    await shot(alice, "10-friend-request");
    await press(alice, "Accept friend request from bob");

    await friend(alice, "bob").waitFor();
    await friend(bob, "alice").waitFor(); // bob's friendAdded frame
    await alice.locator("#requests-section").waitFor({ state: "hidden" });
    await bob.locator("#sent-section").waitFor({ state: "hidden" });
    const friends = await api(bob, "GET", "/Tim/getFriends?account=bob");
    assert.deepEqual((friends.body.data as { account: string }[]).map((u) => u.account), ["alice"]);
  });

  await t.test("after alice blocks bob, his send is refused with 无权限 and nothing reaches her", async () => {
    await friend(alice, "bob").click();
    await press(alice, "Block Bob");
    await alice.locator('#blocks li[data-account="bob"]').waitFor();
    await friend(alice, "bob").locator(".tag", { hasText: "blocked" }).waitFor();

    await friend(bob, "alice").click();
    await send(bob, "在吗？");
    await status(bob, "无权限 (403)", "error");
    assert.equal(await bob.locator("#messages li.msg", { hasText: "在吗？" }).count(), 0, "a refused send is not shown as sent");

    // Unblocked, bob's next message arrives: the one refused before it never does.
    await press(alice, "Unblock bob");
    await alice.locator("#blocks-section").waitFor({ state: "hidden" });
    await send(bob, "现在呢？");
    await message(bob, "现在呢？", true);
    await message(alice, "现在呢？", false);
    assert.deepEqual(await texts(alice), ["现在呢？"]);
    const history = await api(alice, "GET", "/Tim/messages?account=alice&with=bob");
    assert.deepEqual((history.body.data as { message: string }[]).map((m) => m.message), ["现在呢？"]);
  });

  let id = "";
  await t.test("the owner mutes, renames, announces and removes a member; both sides see it", async () => {
    await alice.locator('#create-group-form [name="name"]').fill("周末爬山");
    await alice.locator("#create-group-form button").click();
    const entry = alice.locator("#groups button[data-group-id]", { hasText: "周末爬山" });
    await entry.waitFor();
    id = (await entry.getAttribute("data-group-id")) ?? "";
    assert.match(id, /^\d+$/);
    await bob.locator('#join-group-form [name="id"]').fill(id);
    await bob.locator("#join-group-form button").click();
    await bob.locator("#conv-title", { hasText: `#${id}` }).waitFor();

    // The member list, with roles.
    await alice.locator("#conv-title", { hasText: `#${id}` }).waitFor();
    await alice.locator('#messages li.event[data-event="join"]', { hasText: "Bob joined the group" }).waitFor();
    await press(alice, "Members");
    const members = alice.locator("#members");
    await members.locator('li[data-account="alice"][data-role="owner"]').waitFor();
    await members.locator('li[data-account="bob"][data-role="member"]').waitFor();
    assert.equal(await bob.locator("#group-info").isVisible(), true);

    // A mute for 10 minutes: bob's send is refused until it is lifted.
    await press(alice, "Mute Bob for 10 minutes");
    await members.locator('li[data-account="bob"] .muted').waitFor();
    await bob.locator('#messages li.event[data-event="mute"]', { hasText: /Alice muted Bob until/ }).waitFor();
    await send(bob, "我也去");
    await status(bob, /^禁言中 until .* \(403\)$/, "error");
    await press(alice, "Lift Bob's mute");
    await bob.locator('#messages li.event[data-event="mute"]', { hasText: "Alice lifted Bob's mute" }).waitFor();
    await send(bob, "我也去");
    await message(alice, "我也去", false);

    // A new name and an announcement, for everyone.
    const name = alice.getByLabel("Group name");
    await name.fill("周六爬山");
    await press(alice, "Rename");
    await bob.locator(`#groups button[data-group-id="${id}"]`, { hasText: "周六爬山" }).waitFor();
    await bob.locator('#messages li.event[data-event="rename"]', { hasText: "Alice renamed the group to “周六爬山”" }).waitFor();
    await alice.getByLabel("Group announcement").fill("早上八点山脚集合");
    await press(alice, "Post announcement");
    await bob.locator("#announcement", { hasText: "早上八点山脚集合" }).waitFor();

    await shot(alice, "11-members");

    // On a phone's width the new parts fit: nothing runs past the right edge.
    await alice.setViewportSize({ width: 390, height: 844 });
    const overflow = await alice.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll<HTMLElement>("#conversation header button, #group-panel button, #group-panel input, #group-panel textarea, #chat aside button")]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => el.getBoundingClientRect().right > width + 0.5)
        .map((el) => el.getAttribute("aria-label") ?? el.textContent);
      return { page: document.documentElement.scrollWidth - width, wide };
    });
    assert.deepEqual(overflow, { page: 0, wide: [] });
    await shot(alice, "12-members-390px");

    // The kick, from the keyboard. Bob's page hears of it from the
    // groupRemoved notice alone.
    holdKick = true;
    await press(alice, "Remove Bob from the group");
    await bob.locator(`#groups button[data-group-id="${id}"]`).waitFor({ state: "detached" });
    await bob.locator("#conv-title", { hasText: "Pick a friend or a group" }).waitFor();
    await status(bob, `You were removed from 周六爬山 #${id} by Alice`);
    holdKick = false;
    await alice.locator('#messages li.event[data-event="kick"]', { hasText: "Bob was removed by Alice" }).waitFor();
    await members.locator('li[data-account="bob"]').waitFor({ state: "detached" });
    await shot(alice, "13-kicked");
    const history = await api(bob, "GET", `/Tim/groupMessages?account=bob&GroupID=${id}`);
    assert.equal(history.status, 403, "the kicked member reads the group no more");
  });

  await t.test("the group takes members on approval: bob asks again and alice lets him in", async () => {
    await alice.getByLabel("Who may join").selectOption("approval");
    await status(alice, "Group updated");
    await bob.locator('#join-group-form [name="id"]').fill(id);
    await bob.locator("#join-group-form button").click();
    await status(bob, `Asked to join #${id}`);
    assert.equal(await bob.locator(`#groups button[data-group-id="${id}"]`).count(), 0, "a request is no membership yet");
    await alice.locator('#join-requests li[data-account="bob"]').waitFor(); // the joinRequest frame
    await press(alice, "Let bob join");
    await bob.locator(`#groups button[data-group-id="${id}"]`).waitFor(); // the joinRequestAnswered frame
    await alice.locator('#members li[data-account="bob"][data-role="member"]').waitFor();
    await alice.locator("#join-requests-part").waitFor({ state: "hidden" });
    await alice.locator('#messages li.event[data-event="join"]', { hasText: "Alice added Bob" }).waitFor();
  });

  await t.test("the owner hands the group over; the new owner dissolves it and it leaves both pages", async () => {
    alice.once("dialog", (d) => void d.accept());
    await press(alice, "Hand the group over to Bob");
    await alice.locator('#members li[data-account="bob"][data-role="owner"]').waitFor();
    await alice.locator('#members li[data-account="alice"][data-role="admin"]').waitFor();
    await alice.locator('#messages li.event[data-event="transfer"]', { hasText: "Alice handed the group to Bob" }).waitFor();
    assert.equal(await alice.getByRole("button", { name: "Dissolve group" }).isVisible(), false, "only the owner dissolves");

    // Opening the group loads its history and members: both answered
    // before the group is gone, or they would be refused (403).
    const history = bob.waitForResponse((r) => r.url().includes("/Tim/groupMessages"));
    await bob.locator(`#groups button[data-group-id="${id}"]`).click();
    assert.equal((await history).status(), 200);
    await press(bob, "Members");
    await bob.locator('#members li[data-account="bob"][data-role="owner"]').waitFor();
    bob.once("dialog", (d) => void d.accept());
    await press(bob, "Dissolve group");
    await bob.locator(`#groups button[data-group-id="${id}"]`).waitFor({ state: "detached" });
    await alice.locator(`#groups button[data-group-id="${id}"]`).waitFor({ state: "detached" });
    await alice.locator("#conv-title", { hasText: "Pick a friend or a group" }).waitFor();
    await status(alice, `周六爬山 #${id} was dissolved`);
  });

  await t.test("the console shows no errors", () => {
    assert.deepEqual(problems, []);
  });
});
