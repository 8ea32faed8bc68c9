/**
 * The response's Content-Security-Policy nonce, for the inline scripts React Router renders
 * (`<Scripts>`, `<ScrollRestoration>`). Provided by entry.server; empty in the browser, where
 * nothing renders a script tag.
 */
import { createContext } from 'react';

export const NonceContext = createContext<string | undefined>(undefined);
