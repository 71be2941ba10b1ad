import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { ConfigProvider } from "antd";
import enUS from "antd/locale/en_US";
import zhCN from "antd/locale/zh_CN";
import { I18n, Locale } from "./i18n";
import { loadSession, saveSession, Session } from "./api";
import { Login } from "./Login";
import { Shell } from "./Shell";

function App() {
  const [locale, setLocale] = useState<Locale>((localStorage.getItem("rapport.locale") as Locale) || "en");
  const [session, setSession] = useState<Session | null>(loadSession());
  const choose = (l: Locale) => { localStorage.setItem("rapport.locale", l); document.documentElement.lang = l; setLocale(l); };
  const signIn = (s: Session | null) => { saveSession(s); setSession(s); };
  return (
    <I18n.Provider value={{ locale, setLocale: choose }}>
      <ConfigProvider locale={locale === "zh" ? zhCN : enUS}>
        {session ? <Shell session={session} onSignOut={() => signIn(null)} /> : <Login onSignedIn={signIn} />}
      </ConfigProvider>
    </I18n.Provider>
  );
}

createRoot(document.getElementById("root")!).render(<StrictMode><App /></StrictMode>);
