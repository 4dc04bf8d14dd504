// A client for the "vanishes mid-transfer" fault: connects, then streams 16 KiB messages
// without pause; prints "streaming" once the first echo is back. The test SIGKILLs it.
import { connect } from "../../../src/index.ts";

const port = Number(process.argv[2]);
const connection = await connect("127.0.0.1", port);
let announced = false;
connection.on("message", () => {
  if (!announced) {
    announced = true;
    console.log("streaming");
  }
});
const payload = new Uint8Array(16 * 1024);
const pump = () => {
  for (let i = 0; i < 64 && connection.send(0, payload); i++);
};
connection.on("drain", pump);
setInterval(pump, 5);
pump();
setTimeout(() => process.exit(3), 20_000); // bounded even if nobody kills us
