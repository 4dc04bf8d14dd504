// Picks a congestion controller by name (per endpoint, or per connection at connect()).
import type { CongestionControlName } from "../api.ts";
import type { CongestionController } from "./controller.ts";
import { NewRenoController } from "./newReno.ts";
import { CubicController } from "./cubic.ts";
import { AdaptiveController } from "./adaptive.ts";
import { BbrController } from "./bbr.ts";

export function createController(name: CongestionControlName, mtuBytes: number): CongestionController {
  if (name === "cubic") return new CubicController(mtuBytes);
  if (name === "bbr") return new BbrController(mtuBytes);
  if (name === "adaptive") return new AdaptiveController(mtuBytes);
  return new NewRenoController(mtuBytes);
}
