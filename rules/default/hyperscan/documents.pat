# Document threats written for Tollgate: text that droppers, macros and DDE fields contain.
# Severity high = malicious, medium/low = suspicious under the default policy.
Tollgate.Doc.PowerShellDownloadCradle high /powershell(\.exe)?[^\r\n]{0,200}(downloadstring|downloadfile|invoke-webrequest|start-bitstransfer)/i
Tollgate.Doc.PowerShellEncodedCommand high /powershell(\.exe)?[^\r\n]{0,100}\s-(e|en|enc|encodedcommand)\s+[A-Za-z0-9+\/=]{40}/i
Tollgate.Doc.VBA.URLDownloadToFile medium /URLDownloadToFile[AW]?/i
Tollgate.Doc.DDEAUTO.Command high /\bDDE(AUTO)?\b[^\r\n]{0,80}(cmd(\.exe)?|powershell|mshta|rundll32)/i
Tollgate.Doc.MshtaRemoteScript high /mshta(\.exe)?\s+["']?(https?|vbscript|javascript):/i
Tollgate.Doc.CertutilDecode medium /certutil(\.exe)?\s+[^\r\n]{0,40}-(decode|urlcache)/i
