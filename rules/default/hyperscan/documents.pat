# Document threats written for Tollgate: text that droppers, macros and DDE fields contain.
# Severity high = malicious, medium/low = suspicious under the default policy. Each is `not-prose`:
# the same words in an incident report or a policy document are a topic, not an attack.
Tollgate.Doc.PowerShellDownloadCradle high /powershell(\.exe)?[^\r\n]{0,200}(downloadstring|downloadfile|invoke-webrequest|start-bitstransfer)/i not-prose
Tollgate.Doc.PowerShellEncodedCommand high /powershell(\.exe)?[^\r\n]{0,100}\s-(e|en|enc|encodedcommand)\s+[A-Za-z0-9+\/=]{40}/i not-prose
Tollgate.Doc.VBA.URLDownloadToFile medium /URLDownloadToFile[AW]?/i not-prose
Tollgate.Doc.DDEAUTO.Command high /\bDDE(AUTO)?\b[^\r\n]{0,80}(cmd(\.exe)?|powershell|mshta|rundll32)/i not-prose
Tollgate.Doc.MshtaRemoteScript high /mshta(\.exe)?\s+["']?(https?|vbscript|javascript):/i not-prose
Tollgate.Doc.CertutilDecode medium /certutil(\.exe)?\s+[^\r\n]{0,40}-(decode|urlcache)/i not-prose
