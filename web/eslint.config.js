// ESLint (flat config): the import boundaries of docs/web-client.md, enforced.
//
//   lib/          the SDK: no React, nothing from app/, features/, hooks/ or components/
//   features/X/   may use lib/, config/, hooks/, components/; never another feature, nor app/
//   hooks/, components/  shared: never a feature, nor app/
//   app/          composes everything
//   testing/      fakes of the SDK's ports, for *.test.ts only
//
// Everything inside src/ is imported by its "@/..." path, so one pattern per rule holds.

import { readdirSync } from "node:fs";

import js from "@eslint/js";
import tseslint from "typescript-eslint";

const features = readdirSync(new URL("./src/features", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const noParentImports = {
  // The shared test vectors in spec/ (outside src/) are the one exception.
  regex: "^\\.\\./(?!\\.\\./\\.\\./spec/[a-z0-9-]+\\.json$)",
  message: "Import by the '@/…' path: relative imports hide which layer a module comes from.",
};
const noApp = { group: ["@/app", "@/app/**"], message: "Only app/ composes the app; nothing imports it." };
const noFeatures = { group: ["@/features", "@/features/**"], message: "Shared code never imports a feature." };
const noTestingSyntax = {
  selector: "ImportDeclaration[source.value=/^@\\/testing\\//]",
  message: "src/testing/ holds fakes for tests; the app never imports them.",
};
const noJsx = { selector: "JSXElement, JSXFragment", message: "lib/ renders nothing: no JSX." };
const noReact = {
  group: ["react", "react/**", "react-dom", "react-dom/**", "@/hooks/**", "@/components/**"],
  message: "lib/ is the SDK: no React (views subscribe to it from features/).",
};

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ["*.config.js"], languageOptions: { globals: { URL: "readonly" } } },
  // The service worker: plain script in its own global scope.
  {
    files: ["public/sw.js"],
    languageOptions: { globals: { self: "readonly", caches: "readonly", fetch: "readonly", URL: "readonly", Response: "readonly" } },
  },
  {
    files: ["**/*.{ts,tsx}"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", { patterns: [noParentImports] }],
    },
  },
  {
    files: ["src/**"],
    ignores: ["**/*.test.ts", "src/testing/**"],
    rules: { "no-restricted-syntax": ["error", noTestingSyntax] },
  },
  {
    files: ["src/lib/**", "src/testing/**"],
    rules: { "no-restricted-imports": ["error", { patterns: [noParentImports, noApp, noFeatures, noReact] }] },
  },
  {
    files: ["src/lib/**"],
    ignores: ["**/*.test.ts"],
    rules: { "no-restricted-syntax": ["error", noTestingSyntax, noJsx] },
  },
  { files: ["src/lib/**/*.test.ts", "src/testing/**"], rules: { "no-restricted-syntax": ["error", noJsx] } },
  {
    files: ["src/hooks/**", "src/components/**", "src/config/**"],
    rules: { "no-restricted-imports": ["error", { patterns: [noParentImports, noApp, noFeatures] }] },
  },
  ...features.map((feature) => ({
    files: [`src/features/${feature}/**`],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            noParentImports,
            noApp,
            {
              group: features.filter((other) => other !== feature).flatMap((other) => [`@/features/${other}`, `@/features/${other}/**`]),
              message: `Features do not import each other: move what ${feature} needs into lib/ (or let app/ compose them).`,
            },
          ],
        },
      ],
    },
  })),
);
