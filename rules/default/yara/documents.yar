// Document threats written for Tollgate. Each rule names what it looks for; severities follow the
// default policy: high = malicious, medium/low = suspicious.

rule Tollgate_PDF_AutoRun_JavaScript
{
    meta:
        description = "PDF that runs JavaScript when opened (OpenAction or AA with JavaScript)"
        severity = "medium"
    strings:
        $open = "/OpenAction"
        $aa = "/AA"
        $js1 = "/JavaScript"
        $js2 = /\/JS[\s(<\/]/
    condition:
        uint32(0) == 0x46445025 and ($open or $aa) and ($js1 or $js2)
}

rule Tollgate_PDF_Launch_Action
{
    meta:
        description = "PDF with a Launch action that starts a program"
        severity = "high"
    strings:
        $launch = "/Launch"
        $cmd = /\/(F|Win)\s*(<<[^>]{0,100})?\(\s*[^)]{0,100}(cmd|powershell|mshta|wscript|cscript)(\.exe)?/ nocase
    condition:
        uint32(0) == 0x46445025 and $launch and $cmd
}

rule Tollgate_VBA_AutoExec_Dangerous_Call
{
    meta:
        description = "VBA macro with an auto-exec entry point that runs commands or downloads"
        severity = "high"
    strings:
        $auto1 = "AutoOpen" nocase
        $auto2 = "Auto_Open" nocase
        $auto3 = "Document_Open" nocase
        $auto4 = "Workbook_Open" nocase
        $auto5 = "AutoExec" nocase
        $auto6 = "Document_New" nocase
        $call1 = "Shell" nocase fullword
        $call2 = "CreateObject" nocase
        $call3 = "WScript.Shell" nocase
        $call4 = "powershell" nocase
        $call5 = "URLDownloadToFile" nocase
    condition:
        // Words in prose (an incident report naming AutoOpen and Shell) do not run.
        any of ($auto*) and any of ($call*) and not tollgate_prose
}

rule Tollgate_RTF_Equation_Object
{
    meta:
        description = "RTF embedding an Equation Editor object (CVE-2017-11882 family)"
        severity = "high"
    strings:
        $objdata = "\\objdata" nocase
        $equation = /Equation\.3|4571756174696f6e2e33/ nocase
    condition:
        uint32(0) == 0x74725c7b and $objdata and $equation
}
