/**
 * Building the page: elements and text nodes only. Data from the API
 * (content, addresses, provider details: attacker-controlled) only ever
 * becomes a Text node or an input's value, never markup; the page's
 * Trusted Types policy (src/console/policy.ts) makes any string-to-HTML sink
 * throw, so a slip here fails loudly instead of running someone's script.
 */
type Attrs = Record<string, string | number | boolean | undefined | null>;
type Child = Node | string | number | null | undefined | false;

/** An element with attributes (set with setAttribute; `false`, null and undefined skipped) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

/** Appends children; strings and numbers become Text nodes. */
export function append(parent: Node, ...children: Child[]) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** The element with this id, of the expected kind; a missing one is a bug in the page, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node as T;
}

export const show = (node: HTMLElement, visible = true) => {
  node.hidden = !visible;
};

/** aria-busy on a region while it loads: assistive technology waits for the whole update (and so do the tests). */
export const busy = (node: HTMLElement, value: boolean) => {
  node.setAttribute("aria-busy", String(value));
};
