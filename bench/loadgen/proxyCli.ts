// Runs the impairment proxy alone:
//   bun bench/loadgen/proxyCli.ts --target 127.0.0.1:9000 --impair loss=5%,jitter=2 [--listen 127.0.0.1:0] [--tcp]
// Prints {"listening":{...}} once bound, and its counters as one JSON line on SIGTERM/SIGINT
// (and every --stats-interval seconds when given).

import { parseArgs } from "node:util";
import { parseImpairment } from "./impairment.ts";
import { defaultProxyOptions, startImpairmentProxy } from "./impairmentProxy.ts";

const usage = `usage: bun bench/loadgen/proxyCli.ts --target HOST:PORT [--listen HOST:PORT] [--impair SPEC] [--tcp] [--stats-interval SECONDS]
  SPEC: loss=5%,burst=3,dup=1%,delay=2,jitter=1,corrupt=0.1%,rate=100,queue=262144,seed=1
        (fractions as 0.05 or 5%; delay/jitter in ms; rate in Mbit/s; queue in bytes)
  --tcp applies delay, jitter (order kept) and rate only; loss/dup/corrupt cannot apply to a byte stream.`;

function fail(message: string): never {
  console.error(`proxy: ${message} (see --help)`);
  process.exit(2);
}

function parseHostPort(text: string, name: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) fail(`--${name} must be HOST:PORT, got "${text}"`);
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      target: { type: "string" },
      listen: { type: "string", default: "127.0.0.1:0" },
      impair: { type: "string", default: "" },
      tcp: { type: "boolean", default: false },
      "stats-interval": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
} catch (error) {
  fail((error as Error).message);
}
if (parsed.values.help) {
  console.log(usage);
  process.exit(0);
}
if (parsed.values.target === undefined) fail("--target is required");
const target = parseHostPort(parsed.values.target, "target");
const listen = parseHostPort(parsed.values.listen!, "listen");
let impairment;
try {
  impairment = parseImpairment(parsed.values.impair!);
} catch (error) {
  fail((error as Error).message);
}
const proxy = await startImpairmentProxy({
  protocol: parsed.values.tcp ? "tcp" : "udp",
  listenHost: listen.host,
  listenPort: listen.port,
  targetHost: target.host,
  targetPort: target.port,
  impairment,
  ...defaultProxyOptions,
});
console.log(JSON.stringify({ listening: { host: listen.host, port: proxy.port }, target, impairment }));

const intervalSeconds = Number(parsed.values["stats-interval"] ?? 0);
if (intervalSeconds > 0) setInterval(() => console.log(JSON.stringify({ counters: proxy.counters() })), intervalSeconds * 1000);

function stop(): void {
  console.log(JSON.stringify({ counters: proxy.counters() }));
  proxy.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
