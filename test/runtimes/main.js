// Deno and Bun entry: `main.js <fixture server origin>` prints the conversions as JSON.
import { convertFixtures } from "./convert-fixtures.js";

const base = globalThis.Deno ? globalThis.Deno.args[0] : process.argv[2];
console.log(JSON.stringify(await convertFixtures(base)));
