/**
 * A progress line on standard error: redrawn in place on a terminal, one line every few
 * seconds otherwise (logs, CI), so stdout stays for the result (`--json`).
 */
export class ProgressBar {
  private lastLine = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | null,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, extra: string): void {
    const now = Date.now();
    const bar = this.total ? this.bar(done / this.total) : '';
    const count = this.total ? `${done}/${this.total}` : String(done);
    const line = `${this.label} ${bar}${count} ${extra}`;
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    else if (now - this.lastLine >= 5_000) {
      this.stream.write(`${line}\n`);
      this.lastLine = now;
    }
  }

  finish(done: number, extra: string): void {
    this.lastLine = 0;
    this.update(done, extra);
    if (this.tty) this.stream.write('\n');
  }

  private bar(fraction: number): string {
    const width = 30;
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `;
  }
}
