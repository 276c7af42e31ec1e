import { createServer } from "node:net";

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") return reject(new Error("freePort: no TCP address"));
      server.close(() => resolvePort(address.port));
    });
  });
}

/** Resolves once a TCP connection to host:port succeeds, or rejects after the deadline. */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import("node:net");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.once("error", () => {
        socket.destroy();
        done(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`waitForPort: ${host}:${port} not accepting after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
