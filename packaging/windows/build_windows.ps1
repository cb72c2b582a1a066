# Build the Windows bundle and installer (run from any folder, PowerShell 5+ or pwsh):
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build_windows.ps1
# Needs Python 3.11+ (py launcher or python on PATH) and Inno Setup 6 (iscc) for the installer.
# $env:TORCH_INDEX_URL = "https://download.pytorch.org/whl/cpu" installs that torch build first.
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root

function Invoke-Checked { param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

$Venv = Join-Path $Root "build\venv"
$Py = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $Py)) {
    $Python = if ($env:PYTHON) { $env:PYTHON } else { "python" }
    Invoke-Checked $Python @("-m", "venv", $Venv)
}
Invoke-Checked $Py @("-m", "pip", "install", "--upgrade", "pip")
if ($env:TORCH_INDEX_URL) {
    Invoke-Checked $Py @("-m", "pip", "install", "-c", "constraints.txt", "torch", "--index-url", $env:TORCH_INDEX_URL)
}
Invoke-Checked $Py @("-m", "pip", "install", "-c", "constraints.txt", "-e", ".", "pyinstaller>=6.10")

$Version = (& $Py -c "import desktop_app; print(desktop_app.__version__)").Trim()
Write-Host "==> building classifier-studio $Version"
if (Test-Path "dist\classifier-studio") { Remove-Item -Recurse -Force "dist\classifier-studio" }
Invoke-Checked $Py @("-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", "dist",
    "--workpath", "build\pyinstaller", "packaging\classifier_studio.spec")
Invoke-Checked "dist\classifier-studio\classifier-studio.exe" @("--version")

$Zip = "dist\classifier-studio-$Version-windows-x64.zip"
if (Test-Path $Zip) { Remove-Item -Force $Zip }
Compress-Archive -Path "dist\classifier-studio" -DestinationPath $Zip

$Iscc = Get-Command iscc -ErrorAction SilentlyContinue
$IsccPath = if ($Iscc) { $Iscc.Source } else { "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (Test-Path $IsccPath) {
    Invoke-Checked $IsccPath @("/DAppVersion=$Version", "packaging\windows\classifier_studio.iss")
    Write-Host "Installer: dist\classifier-studio-$Version-windows-x64-setup.exe"
} else {
    Write-Warning "Inno Setup (iscc) not found: only $Zip was made. choco install innosetup"
}
