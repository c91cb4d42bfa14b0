/** Types of ./dev-vars.mjs (imported by the workerd tests). */
export declare const MIN_JWT_SECRET_BYTES: number;
export declare const PROVIDER_KEY_BYTES: number;
export declare function devVar(text: string, name: string): string | undefined;
export declare function devVarsProblems(text: string): string[];
