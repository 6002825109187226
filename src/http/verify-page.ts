import { escapeHtml } from '../lib/mailer';

/** The small page behind the link in the verification email. */
export function verifyPage(ok: boolean): string {
  const title = ok ? 'Email confirmed' : 'This link does not work';
  const body = ok
    ? 'Your account is verified. Go back to your wallet app and log in.'
    : 'This verification link is invalid, expired or already used. Ask your wallet app for a new link.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1f2933; display: flex; min-height: 100vh; margin: 0; align-items: center; justify-content: center; }
  main { background: #fff; border-radius: 12px; padding: 2rem 2.5rem; max-width: 28rem; box-shadow: 0 4px 18px rgba(0,0,0,.08); }
  h1 { font-size: 1.4rem; margin-top: 0; color: ${ok ? '#1a7f37' : '#b42318'}; }
  p { line-height: 1.5; }
</style>
</head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p></main></body>
</html>
`;
}

/** For the HTML pages: nothing external may load, nothing may frame them, no referrer leaks the token. */
export const HTML_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
