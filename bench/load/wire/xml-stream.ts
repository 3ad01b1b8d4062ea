/** One complete child of the XMPP stream (or the stream's own opening and closing tags). */
export interface XmlElement {
  name: string;
  xml: string;
}

/**
 * Splits an XMPP stream into its top-level elements by counting tag depth: enough for a load
 * client that reads a few attributes and a body, without an XML parser's cost. Attribute
 * values must not hold a raw `>` (servers escape it) and CDATA is not expected.
 */
export class XmlStreamSplitter {
  private buffer = "";
  private depth = 0;
  /** Where the element being read starts in `buffer` (valid while depth > 0). */
  private elementStart = 0;
  private scanFrom = 0;

  push(chunk: string): XmlElement[] {
    const buf = this.buffer + chunk;
    const out: XmlElement[] = [];
    let i = this.scanFrom;
    for (;;) {
      const lt = buf.indexOf("<", i);
      if (lt < 0) {
        i = buf.length;
        break;
      }
      const gt = buf.indexOf(">", lt);
      if (gt < 0) {
        i = lt;
        break;
      }
      i = gt + 1;
      const next = buf[lt + 1];
      if (next === "?" || next === "!") continue;
      if (next === "/") {
        if (this.depth === 0) {
          out.push({ name: `/${buf.slice(lt + 2, gt).trim()}`, xml: buf.slice(lt, gt + 1) });
          continue;
        }
        this.depth -= 1;
        if (this.depth === 0) out.push({ name: tagName(buf, this.elementStart + 1), xml: buf.slice(this.elementStart, gt + 1) });
        continue;
      }
      const name = tagName(buf, lt + 1);
      if (name === "stream:stream") {
        out.push({ name, xml: buf.slice(lt, gt + 1) });
        continue;
      }
      const selfClosing = buf[gt - 1] === "/";
      if (this.depth === 0) {
        if (selfClosing) {
          out.push({ name, xml: buf.slice(lt, gt + 1) });
          continue;
        }
        this.elementStart = lt;
      }
      if (!selfClosing) this.depth += 1;
    }
    // Keep only what is still needed: the open element, or the unread tail.
    const keepFrom = this.depth > 0 ? this.elementStart : i;
    this.buffer = buf.slice(keepFrom);
    this.scanFrom = i - keepFrom;
    if (this.depth > 0) this.elementStart = 0;
    return out;
  }
}

function tagName(buf: string, from: number): string {
  let end = from;
  while (end < buf.length) {
    const c = buf.charCodeAt(end);
    if (c === 32 || c === 47 || c === 62 || c === 9 || c === 10 || c === 13) break;
    end += 1;
  }
  return buf.slice(from, end);
}

/** The value of `name='...'` or `name="..."` in a start tag, undefined when absent. */
export function attribute(xml: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}=(['"])(.*?)\\1`).exec(xml.slice(0, xml.indexOf(">") + 1));
  return match?.[2];
}

/** The text of the first `<tag>...</tag>` inside `xml`. */
export function childText(xml: string, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`);
  if (open < 0) return undefined;
  const close = xml.indexOf(`</${tag}>`, open);
  return close < 0 ? undefined : xml.slice(open + tag.length + 2, close);
}
