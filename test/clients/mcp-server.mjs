// A tiny MCP server (stdio) for the Codex tests: one tool, `echo`, that answers with its text
// prefixed, so a test can tell the tool's answer reached the model. Codex starts it from config.toml.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "demo", version: "1.0.0" }, { instructions: "Demo tools for the bridge tests." });
server.registerTool("echo", { description: "Echo the given text back.", inputSchema: { text: z.string().describe("The text to echo.") } }, async ({ text }) => ({
  content: [{ type: "text", text: `echo: ${text}` }],
}));
await server.connect(new StdioServerTransport());
