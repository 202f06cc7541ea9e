import { expect, test } from '@playwright/test';
import { hydrated } from './helpers';

// What the browser downloads: the site's files under hashed names, cached
// for a year and compressed; the page itself compressed and never stored.
test('the sign-in page loads compressed, cacheable files and is itself never stored', async ({ page }) => {
  const files: { url: string; headers: Record<string, string> }[] = [];
  page.on('response', async (res) => {
    if (new URL(res.url()).pathname.startsWith('/pkg/')) {
      files.push({ url: res.url(), headers: await res.allHeaders() });
    }
  });
  const doc = await page.goto('/login');
  await hydrated(page);
  const headers = await doc!.allHeaders();
  expect(headers['cache-control']).toBe('no-store');
  expect(headers['content-encoding']).toMatch(/^(br|gzip)$/);

  const kinds = files.map((f) => new URL(f.url).pathname.split('.').pop());
  expect(kinds).toEqual(expect.arrayContaining(['js', 'wasm', 'css']));
  for (const f of files) {
    // signpost.<hash>.wasm and the like: a new build has new names.
    expect(new URL(f.url).pathname).toMatch(/^\/pkg\/signpost\.[A-Za-z0-9_-]+\.(js|wasm|css)$/);
    expect(f.headers['cache-control'], f.url).toBe('public, max-age=31536000, immutable');
    expect(f.headers['content-encoding'], f.url).toMatch(/^(br|gzip)$/);
  }
});
