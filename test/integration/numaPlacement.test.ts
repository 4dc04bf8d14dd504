import { expect, test } from "bun:test";
import { createServer } from "../../src/index.ts";
import { nativeAvailable } from "./drivers.ts";

test.skipIf(!nativeAvailable())("native driver: numaNode 0 binds the receive slab and staging to node 0, read back", async () => {
  const server = createServer({ port: 0, driver: "native", numaNode: 0 });
  await server.listen();
  try {
    const driver = server.endpoint!.driver;
    expect(driver.numaNode).toBe(0); // get_mempolicy on the slab after mbind(MPOL_BIND, node 0)
    expect(driver.counters.drops["numa-placement-refused"]).toBeUndefined();
  } finally {
    await server.close(200);
  }
});
