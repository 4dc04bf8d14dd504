// Found by the fuzzer: a datagram carrying a MESSAGE and then a CLOSE delivers the message to
// the application while the connection is already closing; the example app's echo then sent
// on it, `send` threw ERR_CONNECTION_CLOSED out of the event dispatch, and the server process
// died. The real server process must survive that, and keep serving.
import { expect, test } from "bun:test";
import { connect } from "../../src/index.ts";
import { freePort, startServerProcess } from "../support/serverProcess.ts";
import { RawPeer, rawHandshake, sendFrames } from "../../tools/fuzz/rawPeer.ts";
import { closeFrame, concatBytes, messageFrame } from "../../tools/fuzz/wireCraft.ts";

test("MESSAGE + CLOSE in one datagram: the server process survives the echo on a closing connection", async () => {
  const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort())]);
  try {
    for (let i = 0; i < 3; i++) {
      const peer = await RawPeer.open({ host: "127.0.0.1", port: server.udpPort });
      const connection = await rawHandshake(peer);
      sendFrames(connection, concatBytes(messageFrame(0, 0, new TextEncoder().encode("echo me")), closeFrame("graceful")));
      await Bun.sleep(200);
      peer.close();
    }
    expect(server.process.exitCode).toBeNull();
    const client = await connect("127.0.0.1", server.udpPort, { exclusiveSocket: true });
    const reply = new Promise<string>((resolve) => client.once("message", (_c, data) => resolve(new TextDecoder().decode(data))));
    client.send(0, new TextEncoder().encode("still serving"));
    expect(await Promise.race([reply, Bun.sleep(3000).then(() => null)])).toBe("still serving");
    await client.close();
    expect(server.output()).not.toMatch(/RudpError|Unhandled/);
  } finally {
    await server.stop("SIGKILL");
  }
});
