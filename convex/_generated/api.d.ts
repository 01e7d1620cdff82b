/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type * as access from "../access.js";
import type * as admins from "../admins.js";
import type * as apps from "../apps.js";
import type * as audit from "../audit.js";
import type * as auth from "../auth.js";
import type * as callbacks from "../callbacks.js";
import type * as contract_backoff from "../contract/backoff.js";
import type * as contract_dataSync from "../contract/dataSync.js";
import type * as contract_executor from "../contract/executor.js";
import type * as contract_signing from "../contract/signing.js";
import type * as contract_targetSchema from "../contract/targetSchema.js";
import type * as crons from "../crons.js";
import type * as dailyStats from "../dailyStats.js";
import type * as dispatch from "../dispatch.js";
import type * as email from "../email.js";
import type * as emailNode from "../emailNode.js";
import type * as executors from "../executors.js";
import type * as exports from "../exports.js";
import type * as feeds from "../feeds.js";
import type * as http from "../http.js";
import type * as httpApi from "../httpApi.js";
import type * as jobQueries from "../jobQueries.js";
import type * as jobs from "../jobs.js";
import type * as lib_adminList from "../lib/adminList.js";
import type * as lib_alertMessage from "../lib/alertMessage.js";
import type * as lib_appInput from "../lib/appInput.js";
import type * as lib_appView from "../lib/appView.js";
import type * as lib_backoff from "../lib/backoff.js";
import type * as lib_cron from "../lib/cron.js";
import type * as lib_crypto from "../lib/crypto.js";
import type * as lib_dashboardOrigin from "../lib/dashboardOrigin.js";
import type * as lib_dashboardPaths from "../lib/dashboardPaths.js";
import type * as lib_deployKey from "../lib/deployKey.js";
import type * as lib_executorClient from "../lib/executorClient.js";
import type * as lib_executorConfig from "../lib/executorConfig.js";
import type * as lib_fetchTimeout from "../lib/fetchTimeout.js";
import type * as lib_freshness from "../lib/freshness.js";
import type * as lib_httpApiUrls from "../lib/httpApiUrls.js";
import type * as lib_jobEventMark from "../lib/jobEventMark.js";
import type * as lib_jobKind from "../lib/jobKind.js";
import type * as lib_jobStateMachine from "../lib/jobStateMachine.js";
import type * as lib_jobSteps from "../lib/jobSteps.js";
import type * as lib_limits from "../lib/limits.js";
import type * as lib_slug from "../lib/slug.js";
import type * as lib_smtpRules from "../lib/smtpRules.js";
import type * as lib_sourceCheck from "../lib/sourceCheck.js";
import type * as lib_sourceDeployment from "../lib/sourceDeployment.js";
import type * as lib_sourceError from "../lib/sourceError.js";
import type * as lib_sourceFeed from "../lib/sourceFeed.js";
import type * as lib_sourceUrl from "../lib/sourceUrl.js";
import type * as lib_userError from "../lib/userError.js";
import type * as maintenance from "../maintenance.js";
import type * as rateLimits from "../rateLimits.js";
import type * as refusals from "../refusals.js";
import type * as schedules from "../schedules.js";
import type * as settings from "../settings.js";
import type * as signupGate from "../signupGate.js";
import type * as sources from "../sources.js";
import type * as stats from "../stats.js";
import type * as targetSchemas from "../targetSchemas.js";
import type * as tokens from "../tokens.js";

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";

declare const fullApi: ApiFromModules<{
  access: typeof access;
  admins: typeof admins;
  apps: typeof apps;
  audit: typeof audit;
  auth: typeof auth;
  callbacks: typeof callbacks;
  "contract/backoff": typeof contract_backoff;
  "contract/dataSync": typeof contract_dataSync;
  "contract/executor": typeof contract_executor;
  "contract/signing": typeof contract_signing;
  "contract/targetSchema": typeof contract_targetSchema;
  crons: typeof crons;
  dailyStats: typeof dailyStats;
  dispatch: typeof dispatch;
  email: typeof email;
  emailNode: typeof emailNode;
  executors: typeof executors;
  exports: typeof exports;
  feeds: typeof feeds;
  http: typeof http;
  httpApi: typeof httpApi;
  jobQueries: typeof jobQueries;
  jobs: typeof jobs;
  "lib/adminList": typeof lib_adminList;
  "lib/alertMessage": typeof lib_alertMessage;
  "lib/appInput": typeof lib_appInput;
  "lib/appView": typeof lib_appView;
  "lib/backoff": typeof lib_backoff;
  "lib/cron": typeof lib_cron;
  "lib/crypto": typeof lib_crypto;
  "lib/dashboardOrigin": typeof lib_dashboardOrigin;
  "lib/dashboardPaths": typeof lib_dashboardPaths;
  "lib/deployKey": typeof lib_deployKey;
  "lib/executorClient": typeof lib_executorClient;
  "lib/executorConfig": typeof lib_executorConfig;
  "lib/fetchTimeout": typeof lib_fetchTimeout;
  "lib/freshness": typeof lib_freshness;
  "lib/httpApiUrls": typeof lib_httpApiUrls;
  "lib/jobEventMark": typeof lib_jobEventMark;
  "lib/jobKind": typeof lib_jobKind;
  "lib/jobStateMachine": typeof lib_jobStateMachine;
  "lib/jobSteps": typeof lib_jobSteps;
  "lib/limits": typeof lib_limits;
  "lib/slug": typeof lib_slug;
  "lib/smtpRules": typeof lib_smtpRules;
  "lib/sourceCheck": typeof lib_sourceCheck;
  "lib/sourceDeployment": typeof lib_sourceDeployment;
  "lib/sourceError": typeof lib_sourceError;
  "lib/sourceFeed": typeof lib_sourceFeed;
  "lib/sourceUrl": typeof lib_sourceUrl;
  "lib/userError": typeof lib_userError;
  maintenance: typeof maintenance;
  rateLimits: typeof rateLimits;
  refusals: typeof refusals;
  schedules: typeof schedules;
  settings: typeof settings;
  signupGate: typeof signupGate;
  sources: typeof sources;
  stats: typeof stats;
  targetSchemas: typeof targetSchemas;
  tokens: typeof tokens;
}>;

/**
 * A utility for referencing Convex functions in your app's public API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;

/**
 * A utility for referencing Convex functions in your app's internal API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = internal.myModule.myFunction;
 * ```
 */
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;

export declare const components: {
  crons: import("@convex-dev/crons/_generated/component.js").ComponentApi<"crons">;
  rateLimiter: import("@convex-dev/rate-limiter/_generated/component.js").ComponentApi<"rateLimiter">;
};
