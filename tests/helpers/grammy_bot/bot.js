// An unmodified grammY polling echo bot whose only change is its API root, run as its own
// process so a test can kill -9 it (the JavaScript twin of tests/helpers/polling_bot.py).
//
//     node bot.js API_ROOT TOKEN LOG [SLOW_SECONDS]
//
// Each handled message appends "update_id chat_id text" to LOG (fsynced at once), then the bot
// replies with sendMessage. grammY handles a fetched batch one update after another before it
// polls again, so with SLOW_SECONDS the batch stays unconfirmed while it is handled.
"use strict";

const fs = require("fs");
const { Bot } = require("grammy");

const [apiRoot, token, log, slowArg] = process.argv.slice(2);
const slow = Number(slowArg || 0);

function record(updateId, chatId, text) {
  const fd = fs.openSync(log, "a");
  try {
    fs.writeSync(fd, `${updateId} ${chatId} ${text}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const bot = new Bot(token, { client: { apiRoot } });

bot.on("message", async (ctx) => {
  if (slow) {
    await new Promise((resolve) => setTimeout(resolve, slow * 1000));
  }
  record(ctx.update.update_id, ctx.chat.id, ctx.message.text || "");
  await ctx.reply(`echo ${ctx.message.text}`);
});

// Without a handler grammY stops polling on the first error; log it and go on, as a bot would.
bot.catch((err) => {
  console.error(`handler failed: ${err.error}`);
});

process.once("SIGTERM", () => bot.stop());

bot.start({ timeout: 10, onStart: (me) => console.log(`polling as @${me.username}`) }).catch(
  (err) => {
    console.error(`polling stopped: ${err}`);
    process.exit(1);
  },
);
