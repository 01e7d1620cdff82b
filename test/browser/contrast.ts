/**
 * WCAG 2 contrast of the text on a page, measured in the browser: every visible element with its own text,
 * its computed colour against the first opaque background behind it. Returns the pairs below the AA minimum
 * (4.5:1, or 3:1 for large text). Disabled controls are exempt, as WCAG allows.
 */
import type { Page } from "playwright-core";

export interface ContrastProblem {
  text: string;
  ratio: number;
  required: number;
  color: string;
  background: string;
}

export async function contrastProblems(page: Page): Promise<ContrastProblem[]> {
  return page.evaluate(() => {
    type RGBA = [number, number, number, number];
    const parse = (value: string): RGBA | null => {
      const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(value);
      if (m) return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
      const s = /color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)(?: \/ ([\d.]+))?\)/.exec(value);
      if (s)
        return [
          Number(s[1]) * 255,
          Number(s[2]) * 255,
          Number(s[3]) * 255,
          s[4] === undefined ? 1 : Number(s[4]),
        ];
      return null;
    };
    const luminance = ([r, g, b]: RGBA) => {
      const lin = (c: number) => {
        const v = c / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const blend = (top: RGBA, bottom: RGBA): RGBA => [
      top[0] * top[3] + bottom[0] * (1 - top[3]),
      top[1] * top[3] + bottom[1] * (1 - top[3]),
      top[2] * top[3] + bottom[2] * (1 - top[3]),
      1,
    ];
    const backgroundOf = (element: Element): RGBA => {
      const layers: RGBA[] = [];
      for (let e: Element | null = element; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg && bg[3] > 0) {
          layers.push(bg);
          if (bg[3] >= 1) break;
        }
      }
      let result: RGBA = [255, 255, 255, 1];
      for (const layer of layers.reverse()) result = blend(layer, result);
      return result;
    };
    const problems: ContrastProblem[] = [];
    for (const element of document.querySelectorAll("body *")) {
      const ownText = [...element.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent ?? "")
        .join("")
        .trim();
      if (!ownText) continue;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1 || style.visibility === "hidden") continue;
      if (element.closest(":disabled, [aria-disabled=true], .visually-hidden, svg")) continue;
      const fg = parse(style.color);
      if (!fg) continue;
      const bg = backgroundOf(element);
      const color = blend(fg, bg);
      const [hi, lo] = [luminance(color), luminance(bg)].sort((a, b) => b - a) as [number, number];
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const required = large ? 3 : 4.5;
      if (ratio < required) {
        problems.push({
          text: ownText.slice(0, 40),
          ratio: Math.round(ratio * 100) / 100,
          required,
          color: style.color,
          background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`,
        });
      }
    }
    return problems;
  });
}
