// The console talks only to the public APIs: /auth/login, /graphql (tenant), /graphql/admin.
export type Session = { tenant: string; accessToken: string; userId: string; roles: string[] };

export class ApiError extends Error {
  constructor(message: string, public code: string, public hint: string, public details: Record<string, unknown>) {
    super(message);
  }
}

const KEY = "rapport.console.session";
export const loadSession = (): Session | null => {
  const raw = sessionStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
};
export const saveSession = (s: Session | null) =>
  s ? sessionStorage.setItem(KEY, JSON.stringify(s)) : sessionStorage.removeItem(KEY);

type ErrorBody = { errors?: { message: string; extensions?: Record<string, unknown> }[] };
const toError = (body: ErrorBody): ApiError => {
  const first = body.errors?.[0];
  const ext = (first?.extensions ?? {}) as Record<string, unknown>;
  return new ApiError(first?.message ?? "Request failed", String(ext.code ?? "ERROR"), String(ext.hint ?? ""), ext);
};

export async function login(tenant: string, loginName: string, password: string, totp?: string): Promise<Session> {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tenant, login: loginName, password, ...(totp ? { totp } : {}) }),
  });
  const body = await response.json();
  if (!response.ok) throw toError(body);
  return { tenant, accessToken: body.accessToken, userId: body.userId, roles: body.roles };
}

export async function gql<T>(session: Session, endpoint: "/graphql" | "/graphql/admin", query: string, variables?: object): Promise<T> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${session.accessToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) throw toError(body);
  return body.data as T;
}

export const admin = <T,>(s: Session, q: string, v?: object) => gql<T>(s, "/graphql/admin", q, v);
export const tenantApi = <T,>(s: Session, q: string, v?: object) => gql<T>(s, "/graphql", q, v);

// Which screens a role set may see (the admin API's own role checks stay the authority).
export const ADMIN_ROLES = ["admin", "system_admin", "security_admin", "audit_admin"];
export const can = (s: Session, screen: string): boolean => {
  const r = new Set(s.roles);
  switch (screen) {
    case "entities": case "forms": case "changes": return r.has("admin");
    case "records": return true;
    case "audit": return r.has("audit_admin") || r.has("admin");
    case "graphiql": return true;
    default: return false;
  }
};
