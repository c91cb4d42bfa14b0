/**
 * The console's texts in the page's language, as the server put them in the
 * page (a JSON script element: src/console/page.tsx), and the language's
 * formats: dates and numbers through Intl, in the browser's time zone.
 */
import type { ConsoleKey } from "../../i18n/console";
import type { Language } from "../../i18n/messages";
import { byId } from "./dom";

const texts = JSON.parse(byId("cc-texts").textContent ?? "{}") as Record<ConsoleKey, string>;

export const lang = (document.body.dataset.lang ?? "en") as Language;

export function t(key: ConsoleKey, params?: Record<string, string | number>): string {
  const template = texts[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** A text whose key is built from an API value (`status_sent`); an unknown value is shown as it came. */
export function label(prefix: string, value: string): string {
  const key = `${prefix}_${value}` as ConsoleKey;
  return key in texts ? texts[key] : value;
}

/** Intl locale of each language: Sorani Kurdish is `ckb` in CLDR (`ku` is Kurmanji). */
const LOCALE: Record<Language, string> = { en: "en", ar: "ar", ku: "ckb", fa: "fa" };
const locale = LOCALE[lang];
const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" });
const number = new Intl.NumberFormat(locale);

export const formatDate = (iso: string) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
};
export const formatNumber = (n: number) => number.format(n);

/** `<input type="datetime-local">` values are the browser's local time, without a zone. */
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;

/** A local date-time from a form as ISO 8601 UTC for the API; anything else is passed on for the API to judge. */
export function localToIso(value: string): string {
  if (!LOCAL_DATE_TIME.test(value)) return value;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

/** Now (or `date`), as a datetime-local input's value, to the second. */
export function toLocalInput(date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
