import { run } from "./ops.ts";
export default {
  async fetch(req: Request): Promise<Response> {
    const u = new URL(req.url);
    if (u.pathname === "/v1/models") return new Response("{}");
    const op = u.pathname.slice(1);
    const n = Number(u.searchParams.get("n") ?? 100000);
    const r = run(op, n);
    return new Response(JSON.stringify({ op, n, r }));
  },
};
