// Setup file of the `library` project: every property test without a seed of its own
// runs from this one, so a run is repeatable on any machine; FC_SEED=<n> explores another.
import fc from "fast-check";

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_261_129) });
