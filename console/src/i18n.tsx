import { createContext, useContext } from "react";

export type Locale = "zh" | "en";
const en = {
  title: "Rapport console", signIn: "Sign in", tenant: "Tenant", login: "Login", password: "Password",
  totp: "TOTP code", totpNeeded: "Enter the code from your authenticator app.", signOut: "Sign out",
  entities: "Entities", forms: "Forms", changes: "Changes", records: "Records", graphiql: "GraphiQL",
  language: "Language", id: "Id", owner: "Owner", kind: "Kind", fields: "Fields", readOnly: "read-only (plug-in owned)",
  editable: "editable", preview: "Preview", locale: "Locale", dialect: "Dialect", plan: "Review plan",
  publish: "Publish", versions: "Version history", rollback: "Roll back", version: "Version", publishedBy: "Published by",
  note: "Note", destructive: "destructive", empty: "Nothing to publish", draft: "Draft", noDraft: "No draft",
  submitted: "Validated by the stock RJSF validator", entity: "Entity", total: "Total", role: "Roles",
};
const zh: typeof en = {
  title: "Rapport 控制台", signIn: "登录", tenant: "租户", login: "用户名", password: "密码",
  totp: "动态验证码", totpNeeded: "请输入验证器应用中的验证码。", signOut: "退出",
  entities: "实体", forms: "表单", changes: "变更", records: "记录", graphiql: "GraphiQL",
  language: "语言", id: "标识", owner: "所有者", kind: "类型", fields: "字段", readOnly: "只读（插件所有）",
  editable: "可编辑", preview: "预览", locale: "语言区域", dialect: "方言", plan: "审查计划",
  publish: "发布", versions: "版本历史", rollback: "回滚", version: "版本", publishedBy: "发布人",
  note: "备注", destructive: "破坏性", empty: "没有可发布的内容", draft: "草稿", noDraft: "无草稿",
  submitted: "已通过标准 RJSF 校验器校验", entity: "实体", total: "总数", role: "角色",
};
export const MESSAGES = { en, zh };
export type Key = keyof typeof en;
export const I18n = createContext<{ locale: Locale; setLocale: (l: Locale) => void }>({ locale: "en", setLocale: () => {} });
export const useT = () => {
  const { locale } = useContext(I18n);
  return (k: Key) => MESSAGES[locale][k];
};
