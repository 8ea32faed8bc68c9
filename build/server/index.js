import { PassThrough } from "node:stream";
import { createReadableStreamFromReadable } from "@react-router/node";
import { Links, Meta, Outlet, Scripts, ScrollRestoration, ServerRouter, UNSAFE_withComponentProps, UNSAFE_withErrorBoundaryProps, isRouteErrorResponse, useLoaderData, useRouteError } from "react-router";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { jsx, jsxs } from "react/jsx-runtime";
// \0rolldown/runtime.js
var __defProp = Object.defineProperty;
var __exportAll = (all, no_symbols) => {
	let target = {};
	for (var name in all) __defProp(target, name, {
		get: all[name],
		enumerable: true
	});
	if (!no_symbols) __defProp(target, Symbol.toStringTag, { value: "Module" });
	return target;
};
// node_modules/@react-router/dev/dist/config/defaults/entry.server.node.tsx
var entry_server_node_exports = /* @__PURE__ */ __exportAll({
	default: () => handleRequest,
	streamTimeout: () => streamTimeout
});
var streamTimeout = 5e3;
function handleRequest(request, responseStatusCode, responseHeaders, routerContext, loadContext) {
	if (request.method.toUpperCase() === "HEAD") return new Response(null, {
		status: responseStatusCode,
		headers: responseHeaders
	});
	return new Promise((resolve, reject) => {
		let shellRendered = false;
		let userAgent = request.headers.get("user-agent");
		let readyOption = userAgent && isbot(userAgent) || routerContext.isSpaMode ? "onAllReady" : "onShellReady";
		let timeoutId = setTimeout(() => abort(), 6e3);
		const { pipe, abort } = renderToPipeableStream(/* @__PURE__ */ jsx(ServerRouter, {
			context: routerContext,
			url: request.url
		}), {
			[readyOption]() {
				shellRendered = true;
				const body = new PassThrough({ final(callback) {
					clearTimeout(timeoutId);
					timeoutId = void 0;
					callback();
				} });
				const stream = createReadableStreamFromReadable(body);
				responseHeaders.set("Content-Type", "text/html");
				pipe(body);
				resolve(new Response(stream, {
					headers: responseHeaders,
					status: responseStatusCode
				}));
			},
			onShellError(error) {
				reject(error);
			},
			onError(error) {
				responseStatusCode = 500;
				if (shellRendered) console.error(error);
			}
		});
	});
}
// app/root.tsx
var root_exports = /* @__PURE__ */ __exportAll({
	ErrorBoundary: () => ErrorBoundary,
	Layout: () => Layout,
	default: () => root_default
});
function Layout({ children }) {
	return /* @__PURE__ */ jsxs("html", {
		lang: "en",
		children: [/* @__PURE__ */ jsxs("head", { children: [
			/* @__PURE__ */ jsx("meta", { charSet: "utf-8" }),
			/* @__PURE__ */ jsx("meta", {
				name: "viewport",
				content: "width=device-width, initial-scale=1"
			}),
			/* @__PURE__ */ jsx("title", { children: "agentq" }),
			/* @__PURE__ */ jsx(Meta, {}),
			/* @__PURE__ */ jsx(Links, {})
		] }), /* @__PURE__ */ jsxs("body", { children: [
			children,
			/* @__PURE__ */ jsx(ScrollRestoration, {}),
			/* @__PURE__ */ jsx(Scripts, {})
		] })]
	});
}
var root_default = UNSAFE_withComponentProps(function App() {
	return /* @__PURE__ */ jsx(Outlet, {});
});
var ErrorBoundary = UNSAFE_withErrorBoundaryProps(function ErrorBoundary() {
	const error = useRouteError();
	const message = isRouteErrorResponse(error) ? `${String(error.status)} ${error.statusText}` : "Something went wrong; the server log says why.";
	return /* @__PURE__ */ jsxs("main", { children: [/* @__PURE__ */ jsx("h1", { children: "agentq" }), /* @__PURE__ */ jsx("p", {
		role: "alert",
		children: message
	})] });
});
// app/routes/home.tsx
var home_exports = /* @__PURE__ */ __exportAll({
	default: () => home_default,
	loader: () => loader$12
});
async function loader$12({ context }) {
	const { api } = context.agentq;
	const [stats, sessions] = await Promise.all([api.system.stats(), api.sessionStore.sessionList({ limit: 50 })]);
	return {
		counts: stats.jobs.byStatus,
		sessions: sessions.sessions.map((s) => ({
			id: s.id,
			title: s.title,
			status: s.status
		}))
	};
}
var home_default = UNSAFE_withComponentProps(function Home() {
	const { counts, sessions } = useLoaderData();
	return /* @__PURE__ */ jsxs("main", { children: [
		/* @__PURE__ */ jsx("h1", { children: "agentq" }),
		/* @__PURE__ */ jsxs("p", { children: ["Jobs: ", Object.entries(counts).map(([status, n]) => `${status} ${String(n)}`).join(" · ")] }),
		/* @__PURE__ */ jsx("ul", { children: sessions.map((s) => /* @__PURE__ */ jsxs("li", { children: [
			s.title,
			" — ",
			s.status
		] }, s.id)) })
	] });
});
// app/api.server.ts
function api(name) {
	return ({ request, params, context }) => context.agentq.dispatch(name, {
		request,
		params
	});
}
// app/routes/api.jobs.ts
var api_jobs_exports = /* @__PURE__ */ __exportAll({
	action: () => action$11,
	loader: () => loader$11
});
var loader$11 = api("jobsLoader");
var action$11 = api("jobsAction");
// app/routes/api.jobs.$jobId.ts
var api_jobs_$jobId_exports = /* @__PURE__ */ __exportAll({
	action: () => action$10,
	loader: () => loader$10
});
var loader$10 = api("jobLoader");
var action$10 = api("jobAction");
// app/routes/api.schedules.ts
var api_schedules_exports = /* @__PURE__ */ __exportAll({
	action: () => action$9,
	loader: () => loader$9
});
var loader$9 = api("schedulesLoader");
var action$9 = api("schedulesAction");
// app/routes/api.schedules.$name.ts
var api_schedules_$name_exports = /* @__PURE__ */ __exportAll({
	action: () => action$8,
	loader: () => loader$8
});
var loader$8 = api("scheduleLoader");
var action$8 = api("scheduleAction");
// app/routes/api.sessions.ts
var api_sessions_exports = /* @__PURE__ */ __exportAll({
	action: () => action$7,
	loader: () => loader$7
});
var loader$7 = api("sessionsLoader");
var action$7 = api("sessionsAction");
// app/routes/api.sessions.$sessionId.ts
var api_sessions_$sessionId_exports = /* @__PURE__ */ __exportAll({
	action: () => action$6,
	loader: () => loader$6
});
var loader$6 = api("sessionLoader");
var action$6 = api("sessionAction");
// app/routes/api.sessions.$sessionId.events.ts
var api_sessions_$sessionId_events_exports = /* @__PURE__ */ __exportAll({
	action: () => action$5,
	loader: () => loader$5
});
var loader$5 = api("eventsLoader");
var action$5 = api("wrongMethod");
// app/routes/api.sessions.$sessionId.prompts.ts
var api_sessions_$sessionId_prompts_exports = /* @__PURE__ */ __exportAll({
	action: () => action$4,
	loader: () => loader$4
});
var loader$4 = api("wrongMethod");
var action$4 = api("promptsAction");
// app/routes/api.sessions.$sessionId.stop.ts
var api_sessions_$sessionId_stop_exports = /* @__PURE__ */ __exportAll({
	action: () => action$3,
	loader: () => loader$3
});
var loader$3 = api("wrongMethod");
var action$3 = api("stopAction");
// app/routes/api.sessions.$sessionId.resume.ts
var api_sessions_$sessionId_resume_exports = /* @__PURE__ */ __exportAll({
	action: () => action$2,
	loader: () => loader$2
});
var loader$2 = api("wrongMethod");
var action$2 = api("resumeAction");
// app/routes/api.stream.ts
var api_stream_exports = /* @__PURE__ */ __exportAll({
	action: () => action$1,
	loader: () => loader$1
});
var loader$1 = api("streamLoader");
var action$1 = api("wrongMethod");
// app/routes/api.$.ts
var api_$_exports = /* @__PURE__ */ __exportAll({
	action: () => action,
	loader: () => loader
});
var loader = api("notFound");
var action = api("notFound");
// \0virtual:react-router/server-manifest
var server_manifest_default = {
	"entry": {
		"module": "/assets/entry.client-CaWMg-TI.js",
		"imports": ["/assets/jsx-runtime-ysuh1Kmi.js"],
		"css": []
	},
	"routes": {
		"root": {
			"id": "root",
			"parentId": void 0,
			"path": "",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": false,
			"hasLoader": false,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": true,
			"hasErrorBoundary": true,
			"module": "/assets/root-BohbrEsX.js",
			"imports": ["/assets/jsx-runtime-ysuh1Kmi.js"],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/home": {
			"id": "routes/home",
			"parentId": "root",
			"path": void 0,
			"index": true,
			"caseSensitive": void 0,
			"hasAction": false,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": true,
			"hasErrorBoundary": false,
			"module": "/assets/home-DAl34Mpy.js",
			"imports": ["/assets/jsx-runtime-ysuh1Kmi.js"],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.jobs": {
			"id": "routes/api.jobs",
			"parentId": "root",
			"path": "api/jobs",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.jobs-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.jobs.$jobId": {
			"id": "routes/api.jobs.$jobId",
			"parentId": "root",
			"path": "api/jobs/:jobId",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.jobs._jobId-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.schedules": {
			"id": "routes/api.schedules",
			"parentId": "root",
			"path": "api/schedules",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.schedules-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.schedules.$name": {
			"id": "routes/api.schedules.$name",
			"parentId": "root",
			"path": "api/schedules/:name",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.schedules._name-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.sessions": {
			"id": "routes/api.sessions",
			"parentId": "root",
			"path": "api/sessions",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.sessions-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.sessions.$sessionId": {
			"id": "routes/api.sessions.$sessionId",
			"parentId": "root",
			"path": "api/sessions/:sessionId",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.sessions._sessionId-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.sessions.$sessionId.events": {
			"id": "routes/api.sessions.$sessionId.events",
			"parentId": "root",
			"path": "api/sessions/:sessionId/events",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.sessions._sessionId.events-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.sessions.$sessionId.prompts": {
			"id": "routes/api.sessions.$sessionId.prompts",
			"parentId": "root",
			"path": "api/sessions/:sessionId/prompts",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.sessions._sessionId.prompts-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.sessions.$sessionId.stop": {
			"id": "routes/api.sessions.$sessionId.stop",
			"parentId": "root",
			"path": "api/sessions/:sessionId/stop",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.sessions._sessionId.stop-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.sessions.$sessionId.resume": {
			"id": "routes/api.sessions.$sessionId.resume",
			"parentId": "root",
			"path": "api/sessions/:sessionId/resume",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.sessions._sessionId.resume-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.stream": {
			"id": "routes/api.stream",
			"parentId": "root",
			"path": "api/stream",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api.stream-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		},
		"routes/api.$": {
			"id": "routes/api.$",
			"parentId": "root",
			"path": "api/*",
			"index": void 0,
			"caseSensitive": void 0,
			"hasAction": true,
			"hasLoader": true,
			"hasClientAction": false,
			"hasClientLoader": false,
			"hasClientMiddleware": false,
			"hasDefaultExport": false,
			"hasErrorBoundary": false,
			"module": "/assets/api._-BvRk9kiK.js",
			"imports": [],
			"css": [],
			"clientActionModule": void 0,
			"clientLoaderModule": void 0,
			"clientMiddlewareModule": void 0,
			"hydrateFallbackModule": void 0
		}
	},
	"url": "/assets/manifest-9cb157ad.js",
	"version": "9cb157ad",
	"sri": void 0
};
// \0virtual:react-router/server-build
var assetsBuildDirectory = "build/client";
var basename = "/";
var future = {
	"unstable_optimizeDeps": false,
	"v8_passThroughRequests": true,
	"v8_trailingSlashAwareDataRequests": true,
	"unstable_previewServerPrerendering": false,
	"v8_middleware": false,
	"v8_splitRouteModules": true,
	"v8_viteEnvironmentApi": true
};
var ssr = true;
var isSpaMode = false;
var prerender = [];
var routeDiscovery = {
	"mode": "lazy",
	"manifestPath": "/__manifest"
};
var publicPath = "/";
var entry = { module: entry_server_node_exports };
var routes = {
	"root": {
		id: "root",
		parentId: void 0,
		path: "",
		index: void 0,
		caseSensitive: void 0,
		module: root_exports
	},
	"routes/home": {
		id: "routes/home",
		parentId: "root",
		path: void 0,
		index: true,
		caseSensitive: void 0,
		module: home_exports
	},
	"routes/api.jobs": {
		id: "routes/api.jobs",
		parentId: "root",
		path: "api/jobs",
		index: void 0,
		caseSensitive: void 0,
		module: api_jobs_exports
	},
	"routes/api.jobs.$jobId": {
		id: "routes/api.jobs.$jobId",
		parentId: "root",
		path: "api/jobs/:jobId",
		index: void 0,
		caseSensitive: void 0,
		module: api_jobs_$jobId_exports
	},
	"routes/api.schedules": {
		id: "routes/api.schedules",
		parentId: "root",
		path: "api/schedules",
		index: void 0,
		caseSensitive: void 0,
		module: api_schedules_exports
	},
	"routes/api.schedules.$name": {
		id: "routes/api.schedules.$name",
		parentId: "root",
		path: "api/schedules/:name",
		index: void 0,
		caseSensitive: void 0,
		module: api_schedules_$name_exports
	},
	"routes/api.sessions": {
		id: "routes/api.sessions",
		parentId: "root",
		path: "api/sessions",
		index: void 0,
		caseSensitive: void 0,
		module: api_sessions_exports
	},
	"routes/api.sessions.$sessionId": {
		id: "routes/api.sessions.$sessionId",
		parentId: "root",
		path: "api/sessions/:sessionId",
		index: void 0,
		caseSensitive: void 0,
		module: api_sessions_$sessionId_exports
	},
	"routes/api.sessions.$sessionId.events": {
		id: "routes/api.sessions.$sessionId.events",
		parentId: "root",
		path: "api/sessions/:sessionId/events",
		index: void 0,
		caseSensitive: void 0,
		module: api_sessions_$sessionId_events_exports
	},
	"routes/api.sessions.$sessionId.prompts": {
		id: "routes/api.sessions.$sessionId.prompts",
		parentId: "root",
		path: "api/sessions/:sessionId/prompts",
		index: void 0,
		caseSensitive: void 0,
		module: api_sessions_$sessionId_prompts_exports
	},
	"routes/api.sessions.$sessionId.stop": {
		id: "routes/api.sessions.$sessionId.stop",
		parentId: "root",
		path: "api/sessions/:sessionId/stop",
		index: void 0,
		caseSensitive: void 0,
		module: api_sessions_$sessionId_stop_exports
	},
	"routes/api.sessions.$sessionId.resume": {
		id: "routes/api.sessions.$sessionId.resume",
		parentId: "root",
		path: "api/sessions/:sessionId/resume",
		index: void 0,
		caseSensitive: void 0,
		module: api_sessions_$sessionId_resume_exports
	},
	"routes/api.stream": {
		id: "routes/api.stream",
		parentId: "root",
		path: "api/stream",
		index: void 0,
		caseSensitive: void 0,
		module: api_stream_exports
	},
	"routes/api.$": {
		id: "routes/api.$",
		parentId: "root",
		path: "api/*",
		index: void 0,
		caseSensitive: void 0,
		module: api_$_exports
	}
};
var allowedActionOrigins = false;
export { allowedActionOrigins, server_manifest_default as assets, assetsBuildDirectory, basename, entry, future, isSpaMode, prerender, publicPath, routeDiscovery, routes, ssr };
