// Picks a congestion controller by name (per endpoint, or per connection at connect()).
import type { CongestionControlName } from "../api.ts";
import type { CongestionController } from "./controller.ts";
import { NewRenoController } from "./newReno.ts";
import { CubicController } from "./cubic.ts";
import { BbrController } from "./bbr.ts";

export function createController(name: CongestionControlName, mtuBytes: number): CongestionController {
  if (name === "cubic") return new CubicController(mtuBytes);
  if (name === "bbr") return new BbrController(mtuBytes);
  // "adaptive" was the seed's packet-window controller for lossy links (AIMD that halved only
  // above 1% loss per round). On the simulated bottleneck it kept 2.2% of the link at 5%
  // random loss (its per-round loss rate reads one loss in a 5-packet window as 20%), where
  // bbr keeps 93.6% (BENCHMARKS.md, bun run cc-sim). The name stays so existing configs keep
  // working and now selects bbr, which does what "adaptive" was for.
  if (name === "adaptive") return new BbrController(mtuBytes, "adaptive");
  return new NewRenoController(mtuBytes);
}
